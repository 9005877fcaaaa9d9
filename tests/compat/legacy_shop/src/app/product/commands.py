from loom.core.command import Command, Patch
from loom.core.response import Response


class CreateProduct(Command, frozen=True):
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int


class UpdateProduct(Command, frozen=True):
    name: Patch[str]
    category: Patch[str]
    price_cents: Patch[int]
    stock: Patch[int]
    note: Patch[str | None]


class DispatchRestockEmailCommand(Command, frozen=True):
    recipient_email: str
    force_fail: bool = False


class SendRestockEmailJobCommand(Command, frozen=True):
    product_id: int
    recipient_email: str
    force_fail: bool = False


class DispatchRestockEmailResponse(Response, frozen=True):
    job_id: str
    queue: str


class ProductSummaryResponse(Response, frozen=True):
    summary: str


class RestockWorkflowResponse(Response, frozen=True):
    summary: str
    restock_job_id: str
    queue: str
