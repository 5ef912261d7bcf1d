"""REST routes for users (`/v1/collections/{id}/users`), on `api.rest`'s router and door."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Form, Query
from starlette.requests import Request
from starlette.responses import Response

from faceindex.api.rest import ImageFile, JsonBody, call_door, member, router


class NewUser(JsonBody):
    user_id: str = member("user_id", "UserId", "the user's id, [a-zA-Z0-9_.:-]+")


class FaceIds(JsonBody):
    face_ids: list[str] = member("face_ids", "FaceIds", "faces of the collection")
    user_match_threshold: float | None = member(
        "user_match_threshold", "UserMatchThreshold", "associate: how like the user's faces they must be", default=None
    )


@router.post("/collections/{collection_id}/users", tags=["users"], summary="Create a user", operation_id="CreateUser")
async def create_user(request: Request, collection_id: str, body: NewUser) -> Response:
    return await call_door(request, {"CollectionId": collection_id, "UserId": body.user_id})


@router.get("/collections/{collection_id}/users", tags=["users"], summary="List users", operation_id="ListUsers")
async def list_users(
    request: Request, collection_id: str, max_results: int | None = None, next_token: str | None = None
) -> Response:
    return await call_door(request, {"CollectionId": collection_id, "MaxResults": max_results, "NextToken": next_token})


@router.delete(
    "/collections/{collection_id}/users/{user_id}", tags=["users"], summary="Delete a user", operation_id="DeleteUser"
)
async def delete_user(request: Request, collection_id: str, user_id: str) -> Response:
    return await call_door(request, {"CollectionId": collection_id, "UserId": user_id})


@router.post(
    "/collections/{collection_id}/users/{user_id}/associate",
    tags=["users"],
    summary="Associate faces with a user",
    operation_id="AssociateFaces",
)
async def associate_faces(request: Request, collection_id: str, user_id: str, body: FaceIds) -> Response:
    return await call_door(
        request,
        {
            "CollectionId": collection_id,
            "UserId": user_id,
            "FaceIds": body.face_ids,
            "UserMatchThreshold": body.user_match_threshold,
        },
    )


@router.post(
    "/collections/{collection_id}/users/{user_id}/disassociate",
    tags=["users"],
    summary="Remove faces from a user",
    operation_id="DisassociateFaces",
)
async def disassociate_faces(
    request: Request, collection_id: str, user_id: str, body: Annotated[FaceIds, Body()]
) -> Response:
    return await call_door(request, {"CollectionId": collection_id, "UserId": user_id, "FaceIds": body.face_ids})


@router.post(
    "/collections/{collection_id}/users/search",
    tags=["search"],
    summary="Users who look like the image's face",
    operation_id="SearchUsersByImage",
)
async def search_users_by_image(
    request: Request,
    collection_id: str,
    image: ImageFile,
    user_match_threshold: Annotated[float | None, Form()] = None,
    max_users: Annotated[int | None, Form()] = None,
) -> Response:
    data = await image.read()
    return await call_door(
        request,
        {
            "CollectionId": collection_id,
            "Image": {"Bytes": data},
            "UserMatchThreshold": user_match_threshold,
            "MaxUsers": max_users,
        },
    )


@router.get(
    "/collections/{collection_id}/users/{user_id}/matches",
    tags=["search"],
    summary="Users like a stored user",
    operation_id="SearchUsers",
)
async def search_users(
    request: Request,
    collection_id: str,
    user_id: str,
    user_match_threshold: Annotated[float | None, Query()] = None,
    max_users: int | None = None,
) -> Response:
    return await call_door(
        request,
        {
            "CollectionId": collection_id,
            "UserId": user_id,
            "UserMatchThreshold": user_match_threshold,
            "MaxUsers": max_users,
        },
    )
