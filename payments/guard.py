"""Play-money payments never meet real money. The local simulator (anyone "pays" with a click),
Stripe's test mode (cards that always succeed, no money collected) and the simulator's public
webhook secret (anyone can sign an event with it) may only run where the chain's money is
play money too: a local development chain or a public test network, with a stablecoin that is
not a real one. Otherwise a "demo" on a public chain would hand out units, and treasury
stablecoin for card-funded trades, to whoever clicked "pay".

Checked while the settings load (dev, test, production) and again in PaymentsConfig.ready(),
which every process runs (manage.py, gunicorn/uvicorn, Celery worker and beat), so a settings
module we do not know (a custom demo.py on base) cannot turn the simulator on unchecked either.
Nothing here reads django.conf.settings by itself: settings modules call it with their own
namespace while they load."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from core.chains import is_real_stablecoin, is_test_chain

TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


def play_money_refusal(*, simulator: bool, secret_key: str, webhook_secret: str, local_webhook_secret: str,
                      chain_id, stablecoin: str) -> str | None:
    """Why this configuration must not start, naming the settings; None when it may."""
    play = []
    if simulator:
        play.append("PAYMENTS_SIMULATOR is on")
    if (secret_key or "").strip().startswith(TEST_KEY_PREFIXES):
        play.append("STRIPE_SECRET_KEY is a Stripe test-mode key")
    if webhook_secret and webhook_secret == local_webhook_secret:
        play.append("STRIPE_WEBHOOK_SECRET is the local simulator's public secret")
    if not play:
        return None
    real = []
    if not is_test_chain(chain_id):
        real.append(f"CHAIN_ID {chain_id} is not a local or test chain")
    if is_real_stablecoin(stablecoin):
        real.append(f"CHAIN_STABLECOIN_ADDRESS {stablecoin} is a real stablecoin")
    if not real:
        return None
    return (f"Simulated payments with real money: {' and '.join(play)}, but {' and '.join(real)}. "
            "The payment simulator, Stripe test keys and the simulator's webhook secret run only on a local "
            "or test chain with a play-money stablecoin; on this chain set a live Stripe key "
            "(STRIPE_SECRET_KEY=sk_live_…), the endpoint's own STRIPE_WEBHOOK_SECRET and PAYMENTS_SIMULATOR=false.")


def refusal_for(settings) -> str | None:
    """play_money_refusal() for django.conf.settings, or a settings module's globals()."""
    def get(name, default=""):
        if isinstance(settings, Mapping):
            return settings.get(name, default)
        return getattr(settings, name, default)

    return play_money_refusal(
        simulator=bool(get("PAYMENTS_SIMULATOR", False)),
        secret_key=get("STRIPE_SECRET_KEY") or "",
        webhook_secret=get("STRIPE_WEBHOOK_SECRET") or "",
        local_webhook_secret=get("LOCAL_SIMULATOR_WEBHOOK_SECRET") or "",
        chain_id=get("CHAIN_ID", None),
        stablecoin=get("CHAIN_STABLECOIN_ADDRESS") or "")


def refuse_play_money_on_real_chain(settings) -> None:
    """Raise ImproperlyConfigured (start-up fails) when refusal_for(settings) says no."""
    message = refusal_for(settings)
    if message:
        raise ImproperlyConfigured(message)
