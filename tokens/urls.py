"""The tokens app's web routes, one block per wing."""

from django.urls import path

from tokens.distributions import income_views
from tokens.distributions import views as distribution_views
from tokens.market import views as market_views
from tokens.offerings import compliance_params_views
from tokens.offerings import views as offering_views
from tokens.primary import order_admin
from tokens.primary import views as primary_views

app_name = "tokens"
urlpatterns = [
    path("offerings/", offering_views.offering_list, name="offering-list"),
    path("offerings/new/", offering_views.offering_create, name="offering-create"),
    path("offerings/<int:pk>/", offering_views.offering_detail, name="offering-detail"),
    path("offerings/<int:pk>/status/", offering_views.offering_status, name="offering-status"),
    path("offerings/<int:pk>/consent/", offering_views.offering_consent, name="offering-consent"),
    path("offerings/<int:pk>/deploy/", offering_views.offering_deploy, name="offering-deploy"),
    path("offerings/<int:pk>/edit/", offering_views.offering_edit, name="offering-edit"),
    path("offerings/<int:pk>/pricing/accept/", offering_views.offering_accept_pricing,
         name="offering-accept-pricing"),
    path("token-actions/", offering_views.agent_home, name="agent-home"),
    path("token-actions/<int:pk>/", offering_views.agent_actions, name="agent-actions"),
    path("token-actions/<int:pk>/status/", offering_views.agent_actions_status, name="agent-actions-status"),
    path("token-actions/action/<int:action_id>/<slug:decision>/", offering_views.agent_action_decide,
         name="agent-action-decide"),
    path("invest/", primary_views.invest_offerings, name="invest-offerings"),
    path("invest/<int:pk>/", primary_views.invest_buy, name="invest-buy"),
    path("investments/", primary_views.my_investments, name="my-investments"),
    path("investments/orders/<uuid:order_id>/", primary_views.order_detail, name="order-detail"),
    path("investments/orders/<uuid:order_id>/status/", primary_views.order_status, name="order-status"),
    path("investments/orders/<uuid:order_id>/cancel/", primary_views.order_cancel, name="order-cancel"),
    path("investments/orders/<uuid:order_id>/receipt.pdf", primary_views.order_receipt, name="order-receipt"),
    path("orders/", primary_views.order_admin, name="order-admin"),
]

# Order administration (refunds, reconciliation).

urlpatterns += [
    path("orders/reconciliation/", order_admin.order_reconciliation, name="order-reconciliation"),
    path("orders/<uuid:order_id>/refund/", order_admin.order_admin_refund, name="order-admin-refund"),
    path("orders/<uuid:order_id>/dispute/", order_admin.order_dispute_resolve, name="order-dispute-resolve"),
]

# Revenue distributions (clinic statements, admin desk) and investors' income.

urlpatterns += [
    path("distributions/", distribution_views.distribution_list, name="distribution-list"),
    path("distributions/batch-claim/", distribution_views.offering_batch_claim, name="distribution-batch-claim"),
    path("distributions/<uuid:public_id>/", distribution_views.distribution_detail, name="distribution-detail"),
    path("distributions/<uuid:public_id>/status/", distribution_views.distribution_status,
         name="distribution-status"),
    path("distributions/<uuid:public_id>/confirm/", distribution_views.distribution_confirm,
         name="distribution-confirm"),
    path("distributions/<uuid:public_id>/dispute/", distribution_views.distribution_dispute,
         name="distribution-dispute"),
    path("distributions/<uuid:public_id>/pay/", distribution_views.distribution_checkout,
         name="distribution-checkout"),
    path("distributions/<uuid:public_id>/resolve/", distribution_views.distribution_resolve,
         name="distribution-resolve"),
    path("distributions/<uuid:public_id>/bank-transfer/", distribution_views.distribution_bank_transfer,
         name="distribution-bank-transfer"),
    path("distributions/<uuid:public_id>/bank-transfer/confirm/",
         distribution_views.distribution_bank_transfer_confirm, name="distribution-bank-transfer-confirm"),
    path("distributions/<uuid:public_id>/bank-transfer/reject/",
         distribution_views.distribution_bank_transfer_reject, name="distribution-bank-transfer-reject"),
    path("distributions/<uuid:public_id>/report-detail.json", distribution_views.distribution_report_detail,
         name="distribution-report-detail"),
    path("distributions/<uuid:public_id>/retry/", distribution_views.distribution_retry,
         name="distribution-retry"),
    path("distributions/<uuid:public_id>/statement.pdf", distribution_views.distribution_statement_pdf,
         name="distribution-statement"),
    path("income/", income_views.income_page, name="income"),
    path("income/claim/", income_views.income_claim, name="income-claim"),
    path("income/withdraw/", income_views.income_withdraw, name="income-withdraw"),
    path("income/statements/<uuid:public_id>.pdf", income_views.income_statement_pdf, name="income-statement"),
    path("income/summary/<int:year>.pdf", income_views.income_yearly_pdf, name="income-yearly-pdf"),
    path("income/summary/<int:year>.csv", income_views.income_yearly_csv, name="income-yearly-csv"),
]

# Secondary market: board, sell, buy, transfer, cancel.

urlpatterns += [
    path("market/", market_views.market_page, name="market"),
    path("market/sell/", market_views.market_sell, name="market-sell"),
    path("market/transfer/", market_views.market_transfer, name="market-transfer"),
    path("market/offers/<int:offer_id>/", market_views.market_take, name="market-take"),
    path("market/offers/<int:offer_id>/cancel/", market_views.market_offer_cancel, name="market-offer-cancel"),
]

# Officer controls after launch: compliance parameters and allowed countries.

urlpatterns += [
    path("token-actions/<int:pk>/compliance/", compliance_params_views.compliance_params, name="compliance-params"),
]

# Secondary market: paying for a purchase by card (checkout through the payments port).
urlpatterns += [
    path("market/offers/<int:offer_id>/card/", market_views.market_card, name="market-card"),
    path("market/card/<uuid:public_id>/", market_views.market_card_detail, name="market-card-detail"),
    path("market/card/<uuid:public_id>/cancel/", market_views.market_card_cancel, name="market-card-cancel"),
    path("market/card/<uuid:public_id>/dispute/", market_views.market_card_dispute_resolve,
         name="market-card-dispute-resolve"),
]
