"""Order administration for platform admins (refund a failed order, reconciliation) and the
API twins of the order pages (investor cancel, admin list/refund/reconciliation). The logic
lives in tokens.primary.services and tokens.primary.reconciliation, shared by web and API."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination
from core.errors import ApplicationError
from core.forms import message_application_error
from core.permissions import HasRole, Role, role_required
from tokens.models import OrderStatus
from tokens.primary import reconciliation, selectors
from tokens.primary import services as orders
from tokens.primary.api import TOKEN_ORDER_PAGE, TokenOrderSerializer

TAG = ["tokens"]


# --------------------------------------------------------------------------------- web


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def order_admin_refund(request, order_id):
    order = selectors.order_get_for_user(user=request.user, order_id=order_id)
    try:
        orders.order_refund(actor=request.user, order=order, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Refund sent to the payment provider."))
    return redirect("tokens:order-detail", order_id=order_id)


@role_required(Role.PLATFORM_ADMIN)
def order_reconciliation(request):
    result = reconciliation.reconcile()
    return render(request, "tokens/order_reconciliation.html", result)


# --------------------------------------------------------------------------------- API


class OrderCancelApi(APIView):
    permission_classes = [HasRole.of(Role.INVESTOR)]

    @extend_schema(tags=TAG, summary="Cancel my unpaid reservation (investors)", request=None,
                   responses=TokenOrderSerializer)
    def post(self, request, order_id):
        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        order = orders.order_cancel(actor=request.user, order=order)
        return Response(TokenOrderSerializer(order, context={"request": request}).data)


class OrderAdminListApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    @extend_schema(tags=TAG, summary="All orders, optionally by status (platform admins)",
                   parameters=[OpenApiParameter("status", str, enum=OrderStatus.values, required=False)],
                   responses=TOKEN_ORDER_PAGE, operation_id="v1_tokens_admin_orders_list")
    def get(self, request):
        status = request.query_params.get("status", "")
        if status and status not in OrderStatus.values:
            raise ApplicationError("invalid_status", f"Unknown order status {status!r}.",
                                   details={"status": [f"Choose one of {', '.join(OrderStatus.values)}."]})
        pager = Pagination()
        page = pager.paginate_queryset(selectors.orders_for_admin(status=status), request, view=self)
        return pager.get_paginated_response(TokenOrderSerializer(page, many=True, context={"request": request}).data)


class OrderAdminRefundApi(APIView):
    permission_classes = [HasRole.of(Role.PLATFORM_ADMIN)]

    class OrderRefundInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=1000)

    @extend_schema(tags=TAG, summary="Refund a failed order's payment (platform admins)",
                   request=OrderRefundInputSerializer, responses=TokenOrderSerializer)
    def post(self, request, order_id):
        s = self.OrderRefundInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        order = orders.order_refund(actor=request.user, order=order, reason=s.validated_data["reason"])
        return Response(TokenOrderSerializer(order, context={"request": request}).data)


class ReconciliationApi(APIView):
    permission_classes = [IsAuthenticated, HasRole.of(Role.PLATFORM_ADMIN)]

    @extend_schema(tags=TAG, summary="Payments vs orders vs minted units vs on-chain supply (platform admins)",
                   responses=inline_serializer("OrderReconciliation", {
                       "counts": inline_serializer("OrderReconciliationCounts", {
                           "payments": serializers.IntegerField(), "orders": serializers.IntegerField(),
                           "mismatches": serializers.IntegerField()}),
                       "mismatches": inline_serializer("OrderReconciliationMismatch", {
                           "kind": serializers.CharField(), "message": serializers.CharField(),
                           "order": serializers.CharField(), "payment": serializers.CharField(),
                           "offering": serializers.CharField()}, many=True)}))
    def get(self, request):
        result = reconciliation.reconcile()
        return Response({"counts": result["counts"], "mismatches": [m.as_dict() for m in result["mismatches"]]})


# ------------------------------------------------------------------- payment disputes


@role_required(Role.COMPLIANCE_OFFICER)
@require_POST
def order_dispute_resolve(request, order_id):
    order = selectors.order_get_for_user(user=request.user, order_id=order_id)
    try:
        orders.order_dispute_resolve(actor=request.user, order=order, outcome=request.POST.get("outcome", ""),
                                     reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Dispute decided; the token action was sent to the chain."))
    return redirect("tokens:order-detail", order_id=order_id)


class OrderDisputeResolveApi(APIView):
    permission_classes = [HasRole.of(Role.COMPLIANCE_OFFICER)]

    class OrderDisputeResolveInputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=sorted(orders.DISPUTE_OUTCOMES),
                                          help_text="won: unfreeze the units; lost: burn them (money went back).")
        reason = serializers.CharField(max_length=1000)

    @extend_schema(tags=TAG, summary="Decide a disputed order (compliance officers)",
                   request=OrderDisputeResolveInputSerializer, responses=TokenOrderSerializer)
    def post(self, request, order_id):
        s = self.OrderDisputeResolveInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        order = orders.order_dispute_resolve(actor=request.user, order=order, **s.validated_data)
        return Response(TokenOrderSerializer(order, context={"request": request}).data)
