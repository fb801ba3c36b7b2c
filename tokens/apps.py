"""The tokens app's wiring: hooks of other apps and the chain, navigation, panels, the demo seeder."""

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from chain import hooks
        from core.permissions import Role
        from core.registry import register_nav, register_panel, register_seeder
        from tokens import panels

        hooks.register("tokens.deploy", "tokens.offerings.chain_hooks.on_deploy_final")
        hooks.register("tokens.anchor", "tokens.offerings.chain_hooks.on_anchor_final")
        hooks.register("tokens.agent_action", "tokens.offerings.chain_hooks.on_agent_action_final")
        hooks.register("tokens.order_mint", "tokens.primary.chain_hooks.on_order_mint_final")
        hooks.register("tokens.distribution_deposit", "tokens.distributions.services.on_deposit_final")
        hooks.register("tokens.income_claim", "tokens.distributions.income.on_claim_final")
        hooks.register("tokens.income_withdraw", "tokens.distributions.income.on_claim_final")
        from telemetry import hooks as telemetry_hooks

        telemetry_hooks.register(telemetry_hooks.PERIOD_CLOSED, "tokens.distributions.services.on_period_closed")
        from payments import handlers as payment_handlers
        from tokens.primary.payment_hooks import register_all as register_order_payment_hooks

        register_order_payment_hooks()  # orders: every checkout, refund and dispute event
        payment_handlers.register("checkout.session.completed", "tokens.distributions.services.on_checkout_completed")
        payment_handlers.register("checkout.session.async_payment_succeeded",
                                  "tokens.distributions.services.on_checkout_completed")
        for event_type in ("charge.refunded", "charge.dispute.created"):
            payment_handlers.register(event_type, "tokens.distributions.services.on_charge_reversed")
        register_nav(gettext_lazy("Offerings"), "tokens:offering-list", roles=[Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN],
            order=400)
        register_panel("tokens/panels/platform.html", roles=[Role.PLATFORM_ADMIN], context=panels.platform_panel,
                       order=40)
        register_nav(gettext_lazy("Offerings"), "tokens:invest-offerings", roles=[Role.INVESTOR], order=400)
        register_nav(gettext_lazy("My investments"), "tokens:my-investments", roles=[Role.INVESTOR], order=405)
        register_nav(gettext_lazy("Orders"), "tokens:order-admin", roles=[Role.PLATFORM_ADMIN], order=402)
        register_nav(gettext_lazy("Token actions"), "tokens:agent-home", roles=[Role.COMPLIANCE_OFFICER], order=410)
        register_nav(gettext_lazy("Revenue statements"), "tokens:distribution-list", roles=[Role.CLINIC_ADMIN],
            order=403)
        register_nav(gettext_lazy("Distributions"), "tokens:distribution-list", roles=[Role.PLATFORM_ADMIN], order=403)
        register_nav(gettext_lazy("Income"), "tokens:income", roles=[Role.INVESTOR], order=406)
        from tokens.demo import seed_demo_offering

        register_seeder(seed_demo_offering, order=400)
        # Secondary market: board and transfer rows, custodial keys for outbox senders "wallet:<address>".
        hooks.register("tokens.market_post", "tokens.market.services.on_post_final")
        hooks.register("tokens.market_cancel", "tokens.market.services.on_cancel_final")
        hooks.register("tokens.market_take", "tokens.market.services.on_transfer_final")
        hooks.register("tokens.market_transfer", "tokens.market.services.on_transfer_final")
        hooks.register("tokens.compliance_change", "tokens.offerings.compliance_params.on_change_final")
        from chain.gateway import register_key_provider

        register_key_provider("tokens.market.services.custodial_key")
        register_nav(gettext_lazy("Market"), "tokens:market", roles=[Role.INVESTOR], order=407)
        # Card payment for a secondary purchase: checkout events by "market-card:" reference; the
        # take of a card purchase settles or refunds it (after market.on_transfer_final).
        for event_type, fn in (("checkout.session.completed", "on_checkout_completed"),
                               ("checkout.session.async_payment_succeeded", "on_checkout_completed"),
                               ("checkout.session.expired", "on_checkout_closed"),
                               ("checkout.session.async_payment_failed", "on_checkout_closed"),
                               ("charge.refunded", "on_charge_refunded"),
                               ("charge.dispute.created", "on_dispute_created")):
            payment_handlers.register(event_type, f"tokens.market.payments.{fn}")
        hooks.register("tokens.market_take", "tokens.market.payments.on_take_final")
        # Compliance holds bind on chain: the investor's wallets frozen on every live token.
        from compliance import hooks as compliance_hooks

        compliance_hooks.register(compliance_hooks.HOLD, "tokens.offerings.holds.on_investor_hold")
        compliance_hooks.register(compliance_hooks.RELEASE, "tokens.offerings.holds.on_investor_release")
        hooks.register("tokens.hold_freeze", "tokens.offerings.holds.on_freeze_final")
