"""API twins of the market pages (tokens.market.views): the board and market data, transfers,
offers (list, cancel) and taking an offer. Custodial wallets: one POST and the platform signs
with the custodial key through the outbox (202). Self-custody wallets: `prepare` returns the
calls for the browser wallet (EIP-1193 eth_sendTransaction, in order), `track` records the
hash of the last one and the server reads its receipt. Refusals by the token carry its
ERC-1404 code and message in `details` (restriction_code, restriction_message)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.money import from_token_units
from core.permissions import HasRole, Role
from tokens.market import payments as market_payments
from tokens.market import services as market
from tokens.models import MarketOffer, Offering

TAG = ["market"]
INVESTOR = HasRole.of(Role.INVESTOR)
INVESTOR_OR_OFFICER = HasRole.of(Role.INVESTOR, Role.COMPLIANCE_OFFICER)


def _offering(offering_id) -> Offering:
    offering = Offering.objects.filter(pk=offering_id).exclude(token_address="").first()
    if offering is None:
        raise Http404("No such token.")
    return offering


# ----------------------------------------------------------------------------- serializers


class RestrictionSerializer(serializers.Serializer):
    code = serializers.IntegerField(help_text="ERC-1404 detectTransferRestriction, read live (0 = allowed).")
    message = serializers.CharField(help_text="messageForTransferRestriction(code), read live.")
    allowed = serializers.BooleanField()


class MarketStatsSerializer(serializers.Serializer):
    last_price = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True,
                                          help_text="USD per unit at the last trade on the board.")
    last_price_base_units = serializers.IntegerField(allow_null=True)
    volume_30d = serializers.DecimalField(max_digits=30, decimal_places=6)
    volume_30d_base_units = serializers.IntegerField()
    units_30d = serializers.IntegerField()
    trades_30d = serializers.IntegerField()
    holders = serializers.IntegerField(help_text="Wallets holding units (indexed Transfer events).")
    offering_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()


class BoardOfferSerializer(serializers.Serializer):
    """An offer as buyers see it: the seller is anonymised."""

    id = serializers.IntegerField()
    offering_id = serializers.IntegerField()
    token_symbol = serializers.CharField(source="offering.token_symbol")
    board_offer_id = serializers.IntegerField()
    units_remaining = serializers.IntegerField()
    price_per_unit_base_units = serializers.IntegerField()
    price_per_unit = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField()
    seller = serializers.SerializerMethodField(help_text="Anonymised: 'Seller #<offer id>'.")

    def get_price_per_unit(self, obj: MarketOffer) -> str:

        return str(from_token_units(obj.price_per_unit_base_units, obj.stablecoin_decimals))

    def get_seller(self, obj: MarketOffer) -> str:
        return f"Seller #{obj.pk}"


class MyOfferSerializer(BoardOfferSerializer):
    status = serializers.CharField()
    units = serializers.IntegerField()
    seller_wallet = serializers.CharField()
    self_custody = serializers.BooleanField()
    tx_hash = serializers.CharField()
    error = serializers.CharField()


class MarketTransferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    offering_id = serializers.IntegerField()
    token_symbol = serializers.CharField(source="offering.token_symbol")
    offer_id = serializers.IntegerField(allow_null=True)
    from_wallet = serializers.CharField()
    to_wallet = serializers.CharField()
    units = serializers.IntegerField()
    price_per_unit_base_units = serializers.IntegerField(allow_null=True)
    paid_base_units = serializers.CharField()
    fee_base_units = serializers.CharField()
    self_custody = serializers.BooleanField()
    tx_hash = serializers.SerializerMethodField()
    block_number = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text="Why it failed, with the token's code and message when it refused.")

    def get_tx_hash(self, obj) -> str:
        return obj.tx_hash or (obj.chain_tx.tx_hash if obj.chain_tx_id else "")


class BrowserStepSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="approve | post | take | cancel | transfer")
    to = serializers.CharField()
    data = serializers.CharField()


class PreparedSerializer(serializers.Serializer):
    vars()["from"] = serializers.CharField(help_text="The self-custody wallet that must send every step.")
    chainId = serializers.CharField()
    steps = BrowserStepSerializer(many=True, help_text="Send in order; wait for each to be mined.")
    check = serializers.DictField(required=False)


class MarketOverviewSerializer(serializers.Serializer):
    tokens = serializers.ListField(child=serializers.DictField())
    offers = BoardOfferSerializer(many=True)
    my_offers = MyOfferSerializer(many=True)
    my_transfers = MarketTransferSerializer(many=True)
    portfolio = serializers.DictField()


# ----------------------------------------------------------------------------- inputs


class TransferInputSerializer(serializers.Serializer):
    offering_id = serializers.IntegerField()
    wallet = serializers.CharField(max_length=42, help_text="Your wallet that sends.")
    to = serializers.CharField(max_length=254, help_text="The recipient investor's email, or a wallet address.")
    units = serializers.IntegerField(min_value=1)


class TransferTrackInputSerializer(TransferInputSerializer):
    tx_hash = serializers.CharField(max_length=66)


class TransferCheckSerializer(RestrictionSerializer):
    vars()["from"] = serializers.CharField()
    to = serializers.CharField()
    units = serializers.IntegerField()
    balance = serializers.IntegerField()
    self_custody = serializers.BooleanField()
    recipient_known = serializers.BooleanField(help_text="The recipient is an investor on this platform.")


class OfferInputSerializer(serializers.Serializer):
    offering_id = serializers.IntegerField()
    wallet = serializers.CharField(max_length=42)
    units = serializers.IntegerField(min_value=1)
    price_per_unit = serializers.DecimalField(max_digits=20, decimal_places=6, help_text="USD (stablecoin) per unit.")
    expires_at = serializers.DateTimeField()


class OfferTrackInputSerializer(OfferInputSerializer):
    tx_hash = serializers.CharField(max_length=66)


class OfferCheckSerializer(RestrictionSerializer):
    wallet = serializers.CharField()
    units = serializers.IntegerField()
    balance = serializers.IntegerField()
    on_offer = serializers.IntegerField(help_text="Units of this wallet already on open offers.")
    price_base_units = serializers.IntegerField()
    self_custody = serializers.BooleanField()


class TakeInputSerializer(serializers.Serializer):
    wallet = serializers.CharField(max_length=42, help_text="Your wallet that pays and receives the units.")
    units = serializers.IntegerField(min_value=1)


class TakeTrackInputSerializer(TakeInputSerializer):
    tx_hash = serializers.CharField(max_length=66)


class TakeCheckSerializer(serializers.Serializer):
    wallet = serializers.CharField()
    units = serializers.IntegerField()
    available = serializers.IntegerField()
    token = RestrictionSerializer(help_text="The token's answer for seller → you, read live.")
    paid = serializers.DecimalField(max_digits=30, decimal_places=6)
    paid_base_units = serializers.IntegerField()
    fee = serializers.DecimalField(max_digits=30, decimal_places=6)
    fee_base_units = serializers.IntegerField()
    stablecoin = serializers.DictField(help_text="balance, allowance for the board, enough.")
    allowed = serializers.BooleanField()


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True,
                                   help_text="Required when a compliance officer cancels an investor's offer.")


class TxHashInputSerializer(serializers.Serializer):
    tx_hash = serializers.CharField(max_length=66)


def _valid(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _transfer_args(request, cls=TransferInputSerializer) -> dict:
    data = _valid(cls, request)
    data["offering"] = _offering(data.pop("offering_id"))
    return data


# ----------------------------------------------------------------------------- board


class MarketApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="The market: tokens with market data (last trade, 30-day volume, holders), "
                   "open offers (sellers anonymised), my offers, my transfers and my portfolio valued at the last "
                   "trade beside the offering price", responses=MarketOverviewSerializer,
                   operation_id="v1_tokens_market_retrieve")
    def get(self, request):
        ctx = market.market_overview(user=request.user)
        folio = ctx["portfolio"]
        data = {
            "tokens": [{"offering_id": t["offering"].pk, "token_symbol": t["offering"].token_symbol,
                        **MarketStatsSerializer(t["stats"]).data} for t in ctx["tokens"]],
            "offers": BoardOfferSerializer(ctx["offers"], many=True).data,
            "my_offers": MyOfferSerializer(ctx["my_offers"], many=True).data,
            "my_transfers": MarketTransferSerializer(ctx["my_transfers"], many=True).data,
            "portfolio": {
                "total_at_last_trade": str(folio["total_at_last_trade"]),
                "total_at_offering_price": str(folio["total_at_offering_price"]),
                "rows": [{"offering_id": r["offering"].pk, "token_symbol": r["offering"].token_symbol,
                          "units": r["units"], "value_at_last_trade": None if r["value_at_last_trade"] is None
                          else str(r["value_at_last_trade"]),
                          "value_at_offering_price": str(r["value_at_offering_price"])} for r in folio["rows"]]},
        }
        return Response(data)


class MarketTokenApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="One token's market data and open offers", responses=MarketStatsSerializer,
                   operation_id="v1_tokens_market_token_retrieve")
    def get(self, request, offering_id):
        offering = _offering(offering_id)
        data = dict(MarketStatsSerializer(market.market_stats(offering=offering)).data)
        data["offers"] = BoardOfferSerializer(market.board_offers(offering=offering), many=True).data
        return Response(data)


# ----------------------------------------------------------------------------- transfers


class TransferCheckApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Before a transfer: the token's ERC-1404 answer (code and message), live",
                   request=TransferInputSerializer, responses=TransferCheckSerializer,
                   operation_id="v1_tokens_market_transfer_check")
    def post(self, request):
        check = market.transfer_check(actor=request.user, **_transfer_args(request))
        return Response(TransferCheckSerializer(check).data)


class TransferCreateApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Transfer units from a custodial wallet (signed with its key through the "
                   "outbox; the platform pays the gas)", request=TransferInputSerializer,
                   responses={202: MarketTransferSerializer}, operation_id="v1_tokens_market_transfer_create")
    def post(self, request):
        t = market.transfer_create(actor=request.user, **_transfer_args(request))
        return Response(MarketTransferSerializer(t).data, status=status.HTTP_202_ACCEPTED)


class TransferPrepareApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="The transfer a self-custody wallet signs in the browser",
                   request=TransferInputSerializer, responses=PreparedSerializer,
                   operation_id="v1_tokens_market_transfer_prepare")
    def post(self, request):
        return Response(market.transfer_prepare(actor=request.user, **_transfer_args(request)))


class TransferTrackApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Follow a transfer sent from the browser wallet (idempotent on the hash)",
                   request=TransferTrackInputSerializer, responses={201: MarketTransferSerializer},
                   operation_id="v1_tokens_market_transfer_track")
    def post(self, request):
        t = market.transfer_track(actor=request.user, **_transfer_args(request, TransferTrackInputSerializer))
        return Response(MarketTransferSerializer(t).data, status=status.HTTP_201_CREATED)


class TransferDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="A transfer or purchase (a browser-sent one's receipt is read now)",
                   responses=MarketTransferSerializer, operation_id="v1_tokens_market_transfer_retrieve")
    def get(self, request, transfer_id):
        return Response(MarketTransferSerializer(market.transfer_get_for_user(user=request.user,
                                                                              transfer_id=transfer_id)).data)


# ----------------------------------------------------------------------------- offers


class OfferCheckApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Before listing: the token's answer for moving these units out now "
                   "(lock-up, freeze, pause, balance)", request=OfferInputSerializer, responses=OfferCheckSerializer,
                   operation_id="v1_tokens_market_offer_check")
    def post(self, request):
        check = market.offer_check(actor=request.user, **_transfer_args(request, OfferInputSerializer))
        return Response(OfferCheckSerializer(check).data)


class OfferCreateApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="List units from a custodial wallet (approve + post signed with its key)",
                   request=OfferInputSerializer, responses={202: MyOfferSerializer},
                   operation_id="v1_tokens_market_offer_create")
    def post(self, request):
        offer = market.offer_create(actor=request.user, **_transfer_args(request, OfferInputSerializer))
        return Response(MyOfferSerializer(offer).data, status=status.HTTP_202_ACCEPTED)


class OfferPrepareApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="The approve + post calls a self-custody wallet signs",
                   request=OfferInputSerializer, responses=PreparedSerializer,
                   operation_id="v1_tokens_market_offer_prepare")
    def post(self, request):
        return Response(market.offer_prepare(actor=request.user, **_transfer_args(request, OfferInputSerializer)))


class OfferTrackApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Follow an offer posted from the browser wallet (hash of the post call)",
                   request=OfferTrackInputSerializer, responses={201: MyOfferSerializer},
                   operation_id="v1_tokens_market_offer_track")
    def post(self, request):
        offer = market.offer_track(actor=request.user, **_transfer_args(request, OfferTrackInputSerializer))
        return Response(MyOfferSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferDetailApi(APIView):
    permission_classes = [INVESTOR_OR_OFFICER]

    @extend_schema(tags=TAG, summary="One of my offers (compliance officers: any)", responses=MyOfferSerializer,
                   operation_id="v1_tokens_market_offer_retrieve")
    def get(self, request, offer_id):
        offer = market.offer_get_for_seller(user=request.user, offer_id=offer_id)
        return Response(MyOfferSerializer(market.offer_refresh(offer=offer)).data)


class OfferCancelApi(APIView):
    permission_classes = [INVESTOR_OR_OFFICER]

    @extend_schema(tags=TAG, summary="Cancel an offer: its custodial seller, or a compliance officer with a reason "
                   "(the platform's agent cancels it on the board)", request=CancelInputSerializer,
                   responses={202: MyOfferSerializer}, operation_id="v1_tokens_market_offer_cancel")
    def post(self, request, offer_id):
        offer = market.offer_get_for_seller(user=request.user, offer_id=offer_id)
        reason = _valid(CancelInputSerializer, request).get("reason", "")
        offer = market.offer_cancel(actor=request.user, offer=offer, reason=reason)
        return Response(MyOfferSerializer(offer).data, status=status.HTTP_202_ACCEPTED)


class OfferCancelPrepareApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="The cancel call a self-custody seller signs", request=None,
                   responses=PreparedSerializer, operation_id="v1_tokens_market_offer_cancel_prepare")
    def post(self, request, offer_id):
        offer = market.offer_get_for_seller(user=request.user, offer_id=offer_id)
        return Response(market.offer_cancel_prepare(actor=request.user, offer=offer))


class OfferCancelTrackApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Follow a cancel sent from the browser wallet", request=TxHashInputSerializer,
                   responses={201: MyOfferSerializer}, operation_id="v1_tokens_market_offer_cancel_track")
    def post(self, request, offer_id):
        offer = market.offer_get_for_seller(user=request.user, offer_id=offer_id)
        offer = market.offer_cancel_track(actor=request.user, offer=offer,
                                          tx_hash=_valid(TxHashInputSerializer, request)["tx_hash"])
        return Response(MyOfferSerializer(offer).data, status=status.HTTP_201_CREATED)


# ----------------------------------------------------------------------------- taking an offer


class TakeCheckApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Both legs' pre-checks before paying: the token's answer for seller → you "
                   "and your stablecoin balance and allowance", request=TakeInputSerializer,
                   responses=TakeCheckSerializer, operation_id="v1_tokens_market_take_check")
    def post(self, request, offer_id):
        offer = market.offer_for_buyer(offer_id=offer_id)
        return Response(TakeCheckSerializer(market.take_check(actor=request.user, offer=offer,
                                                              **_valid(TakeInputSerializer, request))).data)


class TakeCreateApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Buy units of an offer with a custodial wallet's stablecoin (approve + take "
                   "signed with its key; one atomic settlement on chain)", request=TakeInputSerializer,
                   responses={202: MarketTransferSerializer}, operation_id="v1_tokens_market_take_create")
    def post(self, request, offer_id):
        t = market.take_create(actor=request.user, offer_id=offer_id, **_valid(TakeInputSerializer, request))
        return Response(MarketTransferSerializer(t).data, status=status.HTTP_202_ACCEPTED)


class TakePrepareApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="The approve + take calls a self-custody buyer signs (the take echoes the "
                   "price and units)", request=TakeInputSerializer, responses=PreparedSerializer,
                   operation_id="v1_tokens_market_take_prepare")
    def post(self, request, offer_id):
        return Response(market.take_prepare(actor=request.user, offer_id=offer_id,
                                            **_valid(TakeInputSerializer, request)))


class TakeTrackApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Follow a purchase sent from the browser wallet (hash of the take call)",
                   request=TakeTrackInputSerializer, responses={201: MarketTransferSerializer},
                   operation_id="v1_tokens_market_take_track")
    def post(self, request, offer_id):
        t = market.take_track(actor=request.user, offer_id=offer_id, **_valid(TakeTrackInputSerializer, request))
        return Response(MarketTransferSerializer(t).data, status=status.HTTP_201_CREATED)


# ----------------------------------------------------------------------------- paying by card


class CardInputSerializer(serializers.Serializer):
    units = serializers.IntegerField(min_value=1)


class CardCheckSerializer(serializers.Serializer):
    wallet = serializers.CharField(help_text="Your custodial wallet: credited with the stablecoin, receives the units.")
    units = serializers.IntegerField()
    available = serializers.IntegerField()
    token = RestrictionSerializer(help_text="The token's answer for seller → your custodial wallet, read live.")
    paid = serializers.DecimalField(max_digits=30, decimal_places=6, help_text="units × price (what the take moves).")
    paid_base_units = serializers.IntegerField()
    fee = serializers.DecimalField(max_digits=30, decimal_places=6,
                                   help_text="The platform fee, paid by the seller out of the price.")
    fee_base_units = serializers.IntegerField()
    fee_paid_by = serializers.CharField(help_text="Always 'seller': the card is charged units × price only.")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2,
                                      help_text="Charged to the card: units × price rounded up to the cent.")
    currency = serializers.CharField()
    credit_base_units = serializers.IntegerField(
        help_text="The card amount in stablecoin base units. The platform's treasury pays the seller for you "
                  "(paid_base_units, in the same transaction that delivers the units); nothing is credited to "
                  "your wallet.")
    allowed = serializers.BooleanField()


class CardPurchaseSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    status = serializers.CharField(help_text="reserved | expired | cancelled | waiting_funds | settling | settled | "
                                   "refunding | refunded | disputed")
    status_display = serializers.CharField(source="get_status_display")
    offer_id = serializers.IntegerField()
    offering_id = serializers.IntegerField()
    token_symbol = serializers.CharField(source="offering.token_symbol")
    wallet = serializers.CharField()
    units = serializers.IntegerField()
    price_per_unit_base_units = serializers.IntegerField()
    paid_base_units = serializers.CharField()
    fee_base_units = serializers.CharField()
    credit_base_units = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    currency = serializers.CharField()
    reserved_until = serializers.DateTimeField()
    checkout_url = serializers.CharField(help_text="Where to pay (the local simulator's page in dev).")
    fill_id = serializers.IntegerField(allow_null=True)
    frozen_units = serializers.IntegerField(help_text="Units of this purchase frozen by a payment dispute.")
    error = serializers.CharField(help_text="Why it waits, was refunded or is disputed.")


class CardCheckApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Before paying by card: the token's answer for seller → your custodial wallet, "
                   "the card amount (units × price) and the fee (paid by the seller)", request=CardInputSerializer,
                   responses=CardCheckSerializer, operation_id="v1_tokens_market_card_check")
    def post(self, request, offer_id):

        offer = market.offer_for_buyer(offer_id=offer_id)
        check = market_payments.card_check(actor=request.user, offer=offer, **_valid(CardInputSerializer, request))
        return Response(CardCheckSerializer(check).data)


class CardCreateApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Pay for units by card: the units are held for you while the checkout is open; "
                   "the paid webhook has the treasury pay the seller for you and deliver the units in one "
                   "transaction, or refunds with the reason",
                   request=CardInputSerializer, responses={201: CardPurchaseSerializer},
                   operation_id="v1_tokens_market_card_create")
    def post(self, request, offer_id):

        p = market_payments.card_purchase_create(actor=request.user, offer_id=offer_id,
                                                 base_url=request.build_absolute_uri("/"),
                                                 **_valid(CardInputSerializer, request))
        return Response(CardPurchaseSerializer(p).data, status=status.HTTP_201_CREATED)


class CardListApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="My card purchases", responses=CardPurchaseSerializer(many=True),
                   operation_id="v1_tokens_market_card_list")
    def get(self, request):

        return Response(CardPurchaseSerializer(market_payments.my_card_purchases(user=request.user), many=True).data)


class CardDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="One card purchase: status and, if refunded, why",
                   responses=CardPurchaseSerializer, operation_id="v1_tokens_market_card_retrieve")
    def get(self, request, public_id):

        p = market_payments.card_purchase_get_for_user(user=request.user, public_id=public_id)
        return Response(CardPurchaseSerializer(p).data)


class CardCancelApi(APIView):
    permission_classes = [INVESTOR]

    @extend_schema(tags=TAG, summary="Cancel a card purchase before paying: the units are free again at once",
                   request=None, responses=CardPurchaseSerializer, operation_id="v1_tokens_market_card_cancel")
    def post(self, request, public_id):

        p = market_payments.card_purchase_get_for_user(user=request.user, public_id=public_id)
        return Response(CardPurchaseSerializer(market_payments.card_purchase_cancel(actor=request.user,
                                                                                     purchase=p)).data)


class CardDisputeResolveApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class CardDisputeResolveInputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=["lost", "won"],
                                          help_text="won: unfreeze the units; lost: burn them (money went back).")
        reason = serializers.CharField(max_length=1000)

    @extend_schema(tags=TAG, summary="Decide a disputed card purchase (compliance officers)",
                   request=CardDisputeResolveInputSerializer, responses=CardPurchaseSerializer,
                   operation_id="v1_tokens_market_card_dispute_resolve")
    def post(self, request, public_id):

        s = self.CardDisputeResolveInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        p = market_payments.card_purchase_get_for_user(user=request.user, public_id=public_id)
        p = market_payments.card_dispute_resolve(actor=request.user, purchase=p, **s.validated_data)
        return Response(CardPurchaseSerializer(p).data)
