"""The tokens app's API routes, one block per wing."""

from django.urls import path

from tokens.distributions import api as distribution_api
from tokens.market import api as market_api
from tokens.offerings import api as offering_api
from tokens.offerings import compliance_params_api
from tokens.primary import api as primary_api
from tokens.primary import order_admin

urlpatterns = [
    path("tokens/offerings/", offering_api.OfferingListCreateApi.as_view(), name="api-token-offering-list"),
    path("tokens/offerings/<int:offering_id>/", offering_api.OfferingDetailApi.as_view(),
         name="api-token-offering-detail"),
    path("tokens/offerings/<int:offering_id>/consent/", offering_api.OfferingConsentApi.as_view(),
         name="api-token-offering-consent"),
    path("tokens/offerings/<int:offering_id>/deploy/", offering_api.OfferingDeployApi.as_view(),
         name="api-token-offering-deploy"),
    path("tokens/offerings/pricing/preview/", offering_api.OfferingPricingPreviewApi.as_view(),
         name="api-token-offering-pricing-preview"),
    path("tokens/offerings/<int:offering_id>/terms/", offering_api.OfferingTermsApi.as_view(),
         name="api-token-offering-terms"),
    path("tokens/offerings/<int:offering_id>/pricing/accept/", offering_api.OfferingAcceptPricingApi.as_view(),
         name="api-token-offering-accept-pricing"),
    path("tokens/offerings/<int:offering_id>/actions/", offering_api.AgentActionCreateApi.as_view(),
         name="api-token-action-create"),
    path("tokens/actions/<int:action_id>/", offering_api.AgentActionDetailApi.as_view(),
         name="api-token-action-detail"),
    path("tokens/actions/<int:action_id>/confirm/", offering_api.AgentActionConfirmApi.as_view(),
         name="api-token-action-confirm"),
    path("tokens/actions/<int:action_id>/reject/", offering_api.AgentActionRejectApi.as_view(),
         name="api-token-action-reject"),
    path("tokens/invest/offerings/", primary_api.InvestOfferingListApi.as_view(), name="api-token-invest-offerings"),
    path("tokens/invest/offerings/<int:offering_id>/", primary_api.InvestOfferingDetailApi.as_view(),
         name="api-token-invest-offering-detail"),
    path("tokens/orders/", primary_api.OrderListCreateApi.as_view(), name="api-token-order-list"),
    path("tokens/orders/<uuid:order_id>/", primary_api.OrderDetailApi.as_view(), name="api-token-order-detail"),
    path("tokens/orders/<uuid:order_id>/receipt/", primary_api.OrderReceiptApi.as_view(),
         name="api-token-order-receipt"),
]

# Order cancel and order administration (refunds, reconciliation).

urlpatterns += [
    path("tokens/orders/<uuid:order_id>/cancel/", order_admin.OrderCancelApi.as_view(), name="api-token-order-cancel"),
    path("tokens/admin/orders/", order_admin.OrderAdminListApi.as_view(), name="api-token-admin-order-list"),
    path("tokens/admin/orders/<uuid:order_id>/refund/", order_admin.OrderAdminRefundApi.as_view(),
         name="api-token-admin-order-refund"),
    path("tokens/admin/reconciliation/", order_admin.ReconciliationApi.as_view(),
         name="api-token-admin-reconciliation"),
    path("tokens/orders/<uuid:order_id>/dispute/resolve/", order_admin.OrderDisputeResolveApi.as_view(),
         name="api-token-order-dispute-resolve"),
]

# Revenue distributions and investors' income.

urlpatterns += [
    path("tokens/distributions/", distribution_api.DistributionListApi.as_view(), name="api-token-distribution-list"),
    path("tokens/distributions/<uuid:public_id>/", distribution_api.DistributionDetailApi.as_view(),
         name="api-token-distribution-detail"),
    path("tokens/distributions/<uuid:public_id>/confirm/", distribution_api.DistributionConfirmApi.as_view(),
         name="api-token-distribution-confirm"),
    path("tokens/distributions/<uuid:public_id>/dispute/", distribution_api.DistributionDisputeApi.as_view(),
         name="api-token-distribution-dispute"),
    path("tokens/distributions/<uuid:public_id>/resolve/", distribution_api.DistributionResolveApi.as_view(),
         name="api-token-distribution-resolve"),
    path("tokens/distributions/<uuid:public_id>/checkout/", distribution_api.DistributionCheckoutApi.as_view(),
         name="api-token-distribution-checkout"),
    path("tokens/distributions/<uuid:public_id>/bank-transfer/",
         distribution_api.DistributionBankTransferApi.as_view(), name="api-token-distribution-bank-transfer"),
    path("tokens/distributions/<uuid:public_id>/bank-transfer/confirm/",
         distribution_api.DistributionBankTransferConfirmApi.as_view(),
         name="api-token-distribution-bank-transfer-confirm"),
    path("tokens/distributions/<uuid:public_id>/bank-transfer/reject/",
         distribution_api.DistributionBankTransferRejectApi.as_view(),
         name="api-token-distribution-bank-transfer-reject"),
    path("tokens/distributions/<uuid:public_id>/report-detail/", distribution_api.DistributionReportDetailApi.as_view(),
         name="api-token-distribution-report-detail"),
    path("tokens/distributions/<uuid:public_id>/retry/", distribution_api.DistributionRetryApi.as_view(),
         name="api-token-distribution-retry"),
    path("tokens/distributions/<uuid:public_id>/statement/", distribution_api.DistributionStatementApi.as_view(),
         name="api-token-distribution-statement"),
    path("tokens/offerings/<int:offering_id>/batch-claim/", distribution_api.BatchClaimApi.as_view(),
         name="api-token-offering-batch-claim"),
    path("tokens/income/", distribution_api.IncomeApi.as_view(), name="api-token-income"),
    path("tokens/income/claims/", distribution_api.IncomeClaimCreateApi.as_view(), name="api-token-income-claim"),
    path("tokens/income/claims/prepare/", distribution_api.IncomeClaimPrepareApi.as_view(),
         name="api-token-income-claim-prepare"),
    path("tokens/income/claims/track/", distribution_api.IncomeClaimTrackApi.as_view(),
         name="api-token-income-claim-track"),
    path("tokens/income/claims/<int:claim_id>/", distribution_api.IncomeClaimDetailApi.as_view(),
         name="api-token-income-claim-detail"),
    path("tokens/income/withdrawals/", distribution_api.IncomeWithdrawApi.as_view(),
         name="api-token-income-withdraw"),
    path("tokens/income/statements/<uuid:public_id>/", distribution_api.IncomeStatementApi.as_view(),
         name="api-token-income-statement"),
    path("tokens/income/summary/<int:year>/", distribution_api.IncomeYearlySummaryApi.as_view(),
         name="api-token-income-yearly-summary"),
]

# Secondary market (board, transfers, offers, purchases).

urlpatterns += [
    path("tokens/market/", market_api.MarketApi.as_view(), name="api-token-market"),
    path("tokens/market/tokens/<int:offering_id>/", market_api.MarketTokenApi.as_view(), name="api-token-market-token"),
    path("tokens/market/transfers/", market_api.TransferCreateApi.as_view(), name="api-token-market-transfer-create"),
    path("tokens/market/transfers/check/", market_api.TransferCheckApi.as_view(),
         name="api-token-market-transfer-check"),
    path("tokens/market/transfers/prepare/", market_api.TransferPrepareApi.as_view(),
         name="api-token-market-transfer-prepare"),
    path("tokens/market/transfers/track/", market_api.TransferTrackApi.as_view(),
         name="api-token-market-transfer-track"),
    path("tokens/market/transfers/<int:transfer_id>/", market_api.TransferDetailApi.as_view(),
         name="api-token-market-transfer-detail"),
    path("tokens/market/offers/", market_api.OfferCreateApi.as_view(), name="api-token-market-offer-create"),
    path("tokens/market/offers/check/", market_api.OfferCheckApi.as_view(), name="api-token-market-offer-check"),
    path("tokens/market/offers/prepare/", market_api.OfferPrepareApi.as_view(), name="api-token-market-offer-prepare"),
    path("tokens/market/offers/track/", market_api.OfferTrackApi.as_view(), name="api-token-market-offer-track"),
    path("tokens/market/offers/<int:offer_id>/", market_api.OfferDetailApi.as_view(),
         name="api-token-market-offer-detail"),
    path("tokens/market/offers/<int:offer_id>/cancel/", market_api.OfferCancelApi.as_view(),
         name="api-token-market-offer-cancel"),
    path("tokens/market/offers/<int:offer_id>/cancel/prepare/", market_api.OfferCancelPrepareApi.as_view(),
         name="api-token-market-offer-cancel-prepare"),
    path("tokens/market/offers/<int:offer_id>/cancel/track/", market_api.OfferCancelTrackApi.as_view(),
         name="api-token-market-offer-cancel-track"),
    path("tokens/market/offers/<int:offer_id>/take/", market_api.TakeCreateApi.as_view(),
         name="api-token-market-take-create"),
    path("tokens/market/offers/<int:offer_id>/take/check/", market_api.TakeCheckApi.as_view(),
         name="api-token-market-take-check"),
    path("tokens/market/offers/<int:offer_id>/take/prepare/", market_api.TakePrepareApi.as_view(),
         name="api-token-market-take-prepare"),
    path("tokens/market/offers/<int:offer_id>/take/track/", market_api.TakeTrackApi.as_view(),
         name="api-token-market-take-track"),
]

# Officer controls after launch: compliance parameters and allowed countries.

urlpatterns += [
    path("tokens/offerings/<int:offering_id>/compliance/", compliance_params_api.ComplianceParamsApi.as_view(),
         name="api-token-compliance-params"),
]

# Secondary market: paying for a purchase by card.
urlpatterns += [
    path("tokens/market/offers/<int:offer_id>/card/", market_api.CardCreateApi.as_view(),
         name="api-token-market-card-create"),
    path("tokens/market/offers/<int:offer_id>/card/check/", market_api.CardCheckApi.as_view(),
         name="api-token-market-card-check"),
    path("tokens/market/card-purchases/", market_api.CardListApi.as_view(), name="api-token-market-card-list"),
    path("tokens/market/card-purchases/<uuid:public_id>/", market_api.CardDetailApi.as_view(),
         name="api-token-market-card-detail"),
    path("tokens/market/card-purchases/<uuid:public_id>/cancel/", market_api.CardCancelApi.as_view(),
         name="api-token-market-card-cancel"),
    path("tokens/market/card-purchases/<uuid:public_id>/dispute/resolve/", market_api.CardDisputeResolveApi.as_view(),
         name="api-token-market-card-dispute-resolve"),
]
