from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"

    def ready(self):
        from chain import hooks
        from core.permissions import Role
        from core.registry import register_nav, register_panel, register_seeder
        from tokens import panels

        hooks.register("tokens.deploy", "tokens.chain_hooks.on_deploy_final")
        hooks.register("tokens.anchor", "tokens.chain_hooks.on_anchor_final")
        hooks.register("tokens.agent_action", "tokens.chain_hooks.on_agent_action_final")
        hooks.register("tokens.order_mint", "tokens.chain_hooks.on_order_mint_final")
        from payments import handlers as payment_handlers

        payment_handlers.register("checkout.session.completed", "tokens.payment_hooks.on_checkout_completed")
        register_nav("Offerings", "tokens:offering-list", roles=[Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN], order=400)
        register_panel("tokens/panels/platform.html", roles=[Role.PLATFORM_ADMIN], context=panels.platform_panel,
                       order=40)
        register_nav("Offerings", "tokens:invest-offerings", roles=[Role.INVESTOR], order=400)
        register_nav("My investments", "tokens:my-investments", roles=[Role.INVESTOR], order=405)
        register_nav("Orders", "tokens:order-admin", roles=[Role.PLATFORM_ADMIN], order=402)
        register_nav("Token actions", "tokens:agent-home", roles=[Role.COMPLIANCE_OFFICER], order=410)
        from tokens.demo import seed_demo_offering

        register_seeder(seed_demo_offering, order=400)
