from loom.core.command import Command
from loom.core.response import Response


class CreateProduct(Command, frozen=True):
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int = 0


class DispatchRestockEmailCommand(Command, frozen=True):
    recipient_email: str
    force_fail: bool = False


class SendRestockEmailJobCommand(Command, frozen=True):
    product_id: int
    recipient_email: str
    force_fail: bool = False


class SyncErpCommand(Command, frozen=True):
    product_ids: list[int]


class DispatchRestockEmailResponse(Response):
    job_id: str
    queue: str


class ProductSummaryResponse(Response):
    summary: str


class RestockWorkflowResponse(Response):
    summary: str
    restock_job_id: str
    queue: str


class SyncErpResponse(Response):
    job_ids: list[str]
    queue: str
