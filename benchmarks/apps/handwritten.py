"""The surface written the way a competent FastAPI user would write it.

FastAPI + SQLAlchemy 2 async ORM + pydantic v2 models (camelCase aliases), a session per
request through ``Depends``, ``response_model`` everywhere, the same pool size as Loom.

Run: ``uvicorn --factory benchmarks.apps.handwritten:create_app``.
"""

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from sqlalchemy import BigInteger, DateTime, ForeignKey, String, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)

from benchmarks.apps.surface import (
    COUPON_RE,
    MAX_TOTAL_CENTS,
    decode_cursor,
    encode_cursor,
    pricing,
)
from benchmarks.settings import DEFAULT_POOLS, POOL_SIZE, database_url

# -- ORM ---------------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class NoteRow(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RecordRow(Base):
    __tablename__ = "records"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    owner: Mapped[UserRow] = relationship(lazy="raise")
    notes: Mapped[list[NoteRow]] = relationship(lazy="raise", order_by=NoteRow.id)


class CardRow(Base):
    __tablename__ = "cards"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BoardRow(Base):
    __tablename__ = "boards"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    cards: Mapped[list[CardRow]] = relationship(lazy="raise", order_by=CardRow.id)


# -- schemas -----------------------------------------------------------------------------


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class UserOut(Schema):
    id: int
    full_name: str
    email: str
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteOut(Schema):
    id: int
    record_id: int
    author: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RecordOut(Schema):
    id: int
    owner_id: int
    title: str
    status: str
    amount_cents: int
    quantity: int
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteSnippet(Schema):
    author: str
    body: str


class RecordDetailsOut(RecordOut):
    owner: UserOut
    notes: list[NoteOut]
    has_notes: bool
    notes_count: int
    note_snippets: list[NoteSnippet]


class BoardBase(Schema):
    id: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime


class BoardOut(BoardBase):
    has_cards: bool


class RecordCreate(Schema):
    owner_id: int
    title: str = Field(max_length=200)
    status: str = Field(max_length=20)
    amount_cents: int
    quantity: int


class RecordPatch(Schema):
    owner_id: int | None = None
    title: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=20)
    amount_cents: int | None = None
    quantity: int | None = None


class OffsetPage(BaseModel):
    items: list[RecordOut]
    total_count: int
    page: int
    limit: int
    has_next: bool


class CursorPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None
    has_next: bool


class PricingIn(Schema):
    quantity: int = Field(ge=1, le=10_000)
    unit_price_cents: int = Field(ge=0, le=10_000_000)
    discount_pct: int = Field(default=0, ge=0, le=90)
    tax_rate_pct: int = Field(default=0, ge=0, le=50)
    coupon_code: str | None = None

    @field_validator("coupon_code")
    @classmethod
    def _coupon(cls, value: str | None) -> str | None:
        if value is not None and not COUPON_RE.match(value):
            raise ValueError("coupon codes are 4 to 16 capital letters or digits")
        return value


class PricingOut(Schema):
    quantity: int
    unit_price_cents: int
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int


class Ping(BaseModel):
    status: str


# -- app ---------------------------------------------------------------------------------


def _details(row: RecordRow) -> RecordDetailsOut:
    base = RecordOut.model_validate(row).model_dump()
    return RecordDetailsOut(
        **base,
        owner=UserOut.model_validate(row.owner),
        notes=[NoteOut.model_validate(n) for n in row.notes],
        has_notes=bool(row.notes),
        notes_count=len(row.notes),
        note_snippets=[NoteSnippet(author=n.author, body=n.body) for n in row.notes],
    )


def create_app(url: str | None = None) -> FastAPI:
    if DEFAULT_POOLS:  # as a user writes it: SQLAlchemy's pool defaults
        engine = create_async_engine(url or database_url())
    else:
        engine = create_async_engine(
            url or database_url(), pool_size=POOL_SIZE, max_overflow=0, pool_pre_ping=False
        )
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            yield session

    Session = Annotated[AsyncSession, Depends(get_session)]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="hand-written", lifespan=lifespan)

    @app.get("/health/ping", response_model=Ping)
    async def ping() -> Ping:
        return Ping(status="ok")

    @app.get("/records/{record_id}", response_model=RecordDetailsOut | RecordOut)
    async def get_record(
        record_id: int, session: Session, profile: Literal["default", "with_details"] = "default"
    ) -> RecordOut | RecordDetailsOut:
        if profile == "with_details":
            stmt = (
                select(RecordRow)
                .where(RecordRow.id == record_id)
                .options(joinedload(RecordRow.owner), selectinload(RecordRow.notes))
            )
            row = (await session.execute(stmt)).scalar_one_or_none()
            if row is None:
                raise HTTPException(404, "record not found")
            return _details(row)
        found = await session.get(RecordRow, record_id)
        if found is None:
            raise HTTPException(404, "record not found")
        return RecordOut.model_validate(found)

    @app.get("/boards/{board_id}", response_model=BoardOut)
    async def get_board(board_id: int, session: Session) -> BoardOut:
        # One statement, the existence test as a correlated EXISTS beside the row.
        has_cards = exists().where(CardRow.board_id == BoardRow.id).label("has_cards")
        stmt = select(BoardRow, has_cards).where(BoardRow.id == board_id)
        found = (await session.execute(stmt)).one_or_none()
        if found is None:
            raise HTTPException(404, "board not found")
        board, flag = found
        return BoardOut(**BoardBase.model_validate(board).model_dump(), has_cards=flag)

    @app.get("/records", response_model=OffsetPage | CursorPage)
    async def list_records(
        session: Session,
        pagination: Literal["offset", "cursor"] = "offset",
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        page: Annotated[int, Query(ge=1)] = 1,
        after: str | None = None,
        status__eq: str | None = None,
        owner_id__eq: int | None = None,
    ) -> OffsetPage | CursorPage:
        stmt = select(RecordRow)
        if status__eq is not None:
            stmt = stmt.where(RecordRow.status == status__eq)
        if owner_id__eq is not None:
            stmt = stmt.where(RecordRow.owner_id == owner_id__eq)
        if pagination == "cursor":
            if after is not None:
                last_id = decode_cursor(after)
                if last_id is None:
                    raise HTTPException(422, "invalid cursor")
                stmt = stmt.where(RecordRow.id > last_id)
            rows = list((await session.scalars(stmt.order_by(RecordRow.id).limit(limit + 1))).all())
            has_next = len(rows) > limit
            rows = rows[:limit]
            return CursorPage(
                items=[RecordOut.model_validate(r) for r in rows],
                next_cursor=encode_cursor(rows[-1].id) if has_next else None,
                has_next=has_next,
            )
        total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
        offset = (page - 1) * limit
        rows = list(
            (await session.scalars(stmt.order_by(RecordRow.id).limit(limit).offset(offset))).all()
        )
        return OffsetPage(
            items=[RecordOut.model_validate(r) for r in rows],
            total_count=total or 0,
            page=page,
            limit=limit,
            has_next=offset + len(rows) < (total or 0),
        )

    @app.post("/records", response_model=RecordOut, status_code=201)
    async def create_record(body: RecordCreate, session: Session) -> RecordOut:
        now = dt.datetime.now(dt.UTC)
        row = RecordRow(**body.model_dump(), created_at=now, updated_at=now)
        session.add(row)
        await session.commit()
        return RecordOut.model_validate(row)

    @app.patch("/records/{record_id}", response_model=RecordOut)
    async def update_record(record_id: int, body: RecordPatch, session: Session) -> RecordOut:
        row = await session.get(RecordRow, record_id)
        if row is None:
            raise HTTPException(404, "record not found")
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(row, name, value)
        row.updated_at = dt.datetime.now(dt.UTC)
        await session.commit()
        return RecordOut.model_validate(row)

    @app.post("/records/pricing-preview", response_model=PricingOut)
    async def pricing_preview(body: PricingIn) -> PricingOut:
        result = pricing(
            body.quantity,
            body.unit_price_cents,
            body.discount_pct,
            body.tax_rate_pct,
            body.coupon_code,
        )
        if result["totalCents"] > MAX_TOTAL_CENTS:
            raise HTTPException(422, "total too large")
        return PricingOut.model_validate(result)

    return app
