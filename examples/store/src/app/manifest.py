from app.address.interface import AddressRestInterface
from app.address.model import Address
from app.address.use_cases import (
    CreateAddressUseCase,
    DeleteAddressUseCase,
    GetAddressUseCase,
    ListAddressesUseCase,
    UpdateAddressUseCase,
)
from app.order.interface import OrderItemRestInterface, OrderRestInterface
from app.order.model import Order, OrderItem
from app.order.use_cases import (
    AddOrderItemUseCase,
    CreateOrderUseCase,
    GetOrderTotalUseCase,
    ListOrderItemsUseCase,
    RemoveOrderItemUseCase,
    UpdateOrderUseCase,
)
from app.product.callbacks import RestockEmailFailureCallback, RestockEmailSuccessCallback
from app.product.interface import ProductRestInterface
from app.product.jobs import BuildProductSummaryJob, SendRestockEmailJob, SyncProductToErpJob
from app.product.model import Product
from app.product.repository import ProductRepository
from app.product.use_cases import (
    BuildProductSummaryUseCase,
    CreateProductUseCase,
    DispatchRestockEmailUseCase,
    ListLowStockProductsUseCase,
    RestockWorkflowUseCase,
    SyncErpUseCase,
)
from app.user.interface import UserRestInterface
from app.user.model import User
from app.user.use_cases import CreateUserUseCase, UpdateUserUseCase

MODELS = [User, Address, Product, Order, OrderItem]
REPOSITORIES = [ProductRepository]
USE_CASES = [
    CreateUserUseCase,
    UpdateUserUseCase,
    CreateAddressUseCase,
    ListAddressesUseCase,
    GetAddressUseCase,
    UpdateAddressUseCase,
    DeleteAddressUseCase,
    ListLowStockProductsUseCase,
    CreateProductUseCase,
    BuildProductSummaryUseCase,
    DispatchRestockEmailUseCase,
    RestockWorkflowUseCase,
    SyncErpUseCase,
    CreateOrderUseCase,
    UpdateOrderUseCase,
    GetOrderTotalUseCase,
    AddOrderItemUseCase,
    ListOrderItemsUseCase,
    RemoveOrderItemUseCase,
]
JOBS = [SendRestockEmailJob, BuildProductSummaryJob, SyncProductToErpJob]
CALLBACKS = [RestockEmailSuccessCallback, RestockEmailFailureCallback]
INTERFACES = [
    UserRestInterface,
    AddressRestInterface,
    ProductRestInterface,
    OrderRestInterface,
    OrderItemRestInterface,
]
