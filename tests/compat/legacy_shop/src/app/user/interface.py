from loom.rest.model import RestInterface, RestRoute

from app.user.model import Address, User
from app.user.use_cases import (
    CreateAddressUseCase,
    DeleteAddressUseCase,
    GetAddressUseCase,
    ListAddressesUseCase,
    UpdateAddressUseCase,
)


class UserRestInterface(RestInterface[User]):
    prefix = "/users"
    tags = ("Users",)
    auto = True
    profile_default = "default"
    allowed_profiles = ("default", "with_details")
    expose_profile = True


class AddressRestInterface(RestInterface[Address]):
    prefix = "/users"
    tags = ("UserAddresses",)
    routes = (
        RestRoute(
            use_case=CreateAddressUseCase,
            method="POST",
            path="/{user_id}/addresses/",
            status_code=201,
        ),
        RestRoute(use_case=ListAddressesUseCase, method="GET", path="/{user_id}/addresses/"),
        RestRoute(
            use_case=GetAddressUseCase, method="GET", path="/{user_id}/addresses/{address_id}"
        ),
        RestRoute(
            use_case=UpdateAddressUseCase, method="PATCH", path="/{user_id}/addresses/{address_id}"
        ),
        RestRoute(
            use_case=DeleteAddressUseCase, method="DELETE", path="/{user_id}/addresses/{address_id}"
        ),
    )
