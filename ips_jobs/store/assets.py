"""SqlAssetRepository: folders and assets, rows to domain objects and back, one transaction per
call; driver errors are wrapped here and never leave the store."""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from ips_jobs.domain.assets import (
    MAX_PATH,
    NEGATED,
    Asset,
    AssetDraft,
    AssetFailure,
    AssetInfo,
    AssetNameInUse,
    AssetPage,
    AssetQuery,
    BatchOutcome,
    Condition,
    Field,
    Folder,
    FolderExists,
    Match,
    NoSuchFolder,
    Op,
    Publication,
    RootFolder,
    SortField,
    TrashAction,
    TrashState,
    Uploaded,
    UploadOutcome,
    WrongTrashState,
    ancestors,
    renamed_file,
    trash_move,
)
from ips_jobs.errors import ApiError, InvalidParameter, StoreError
from ips_jobs.store.database import Database
from ips_jobs.store.tables import (
    UtcDateTime,
    asset_keywords,
    asset_publications,
    assets,
    folders,
)

#: Written as the partial unique index's own predicate: SQLite uses that index only then.
_LIVE = assets.c.trash_state == literal_column("'NotInTrash'")
#: AssetInfo fields kept in columns of their own (searched or sorted); the rest go in `info`.
_COLUMNS = ("file_size", "width", "height", "sku", "description", "comments", "user_data")
_CHILD = folders.alias("child")
_FOLDERS = select(
    folders, exists().where(_CHILD.c.parent_id == folders.c.id).label("has_subfolders")
)
_ASSETS = select(assets, folders.c.path.label("folder_path")).join(
    folders, folders.c.id == assets.c.folder_id
)
_SIZE = func.coalesce(assets.c.file_size, 0)
_SORT = {
    SortField.CREATED: assets.c.created_at,
    SortField.MODIFIED: assets.c.modified_at,
    SortField.NAME: assets.c.name,
    SortField.ASSET_TYPE: assets.c.type,
    SortField.FILE_SIZE: _SIZE,
}
_TEXT = {
    Field.NAME: assets.c.name,
    Field.FILE_NAME: assets.c.file_name,
    Field.TYPE: assets.c.type,
    Field.SKU: assets.c.sku,
    Field.DESCRIPTION: assets.c.description,
    Field.COMMENTS: assets.c.comments,
    Field.USER_DATA: assets.c.user_data,
    Field.CREATED_BY: assets.c.created_by,
    Field.MODIFIED_BY: assets.c.modified_by,
}
_ORDERED = {
    Field.FILE_SIZE: _SIZE,
    Field.CREATED_AT: assets.c.created_at,
    Field.MODIFIED_AT: assets.c.modified_at,
}


class SqlAssetRepository:
    def __init__(self, database: Database) -> None:
        self.db = database
        self._upsert = sqlite_insert if database.is_sqlite else postgresql_insert

    @contextmanager
    def _writing(self, conflict: Callable[[], ApiError] | None = None) -> Iterator[Connection]:
        """A write transaction; a broken constraint is `conflict()` (None: a StoreError)."""
        try:
            with self.db.write() as c:
                yield c
        except IntegrityError as exc:
            error = conflict() if conflict else StoreError(f"constraint violated: {exc.orig}")
            raise error from exc
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(f"database error: {exc.__class__.__name__}: {reason}") from exc

    # -- folders --------------------------------------------------------------------------
    def folder(self, company_id: int, path: str) -> Folder | None:
        with self.db.checked_read() as c:
            row = _folder_row(c, company_id, path)
        return _folder(row) if row else None

    def folders(self, company_id: int, under: str) -> Sequence[Folder]:
        with self.db.checked_read() as c:
            rows = c.execute(_FOLDERS.where(*_subtree(company_id, under))).all()
        # by code point on every database (PostgreSQL would sort by its locale)
        return sorted((_folder(r) for r in rows), key=lambda f: f.path)

    def add_folder(self, company_id: int, path: str, now: datetime) -> Folder:
        with self._writing(lambda: FolderExists(path)) as c:
            if _folder_row(c, company_id, path) is not None:
                raise FolderExists(path)
            self._ensure_folder(c, company_id, path, now)
            return _folder(_folder_row(c, company_id, path))

    def rename_folder(self, company_id: int, path: str, name: str, now: datetime) -> Folder:
        with self._writing() as c:
            row = _changeable(c, company_id, path)
            return self._repath(c, row, f"{_folder(row).parent}{name}/", None, now, "folderName")

    def move_folder(self, company_id: int, path: str, into: str, now: datetime) -> Folder:
        with self._writing() as c:
            row = _changeable(c, company_id, path)
            dest = _folder_row(c, company_id, into)
            if dest is None:
                raise NoSuchFolder(into, "destFolderHandle")
            if into.startswith(path):
                raise InvalidParameter(
                    "destFolderHandle", f"'{path}' cannot move into itself or its subfolders"
                )
            new = f"{into}{_folder(row).name}/"
            return self._repath(c, row, new, dest.id, now, "destFolderHandle")

    def delete_folder(self, company_id: int, path: str, now: datetime) -> None:
        with self._writing() as c:
            row = _changeable(c, company_id, path)
            subtree = select(folders.c.id).where(*_subtree(company_id, path)).scalar_subquery()
            c.execute(delete(assets).where(assets.c.folder_id.in_(subtree)))
            c.execute(delete(folders).where(folders.c.id.in_(subtree)))
            _touch(c, [row.parent_id], now)

    def _ensure_folder(self, c: Connection, company_id: int, path: str, now: datetime) -> int:
        """The folder's id, made with the folders above it that are missing. A folder another
        transaction makes meanwhile is taken as found."""
        chain = [*ancestors(path), path]
        found = dict(
            c.execute(
                select(folders.c.path, folders.c.id).where(
                    folders.c.company_id == company_id, folders.c.path.in_(chain)
                )
            ).all()
        )
        parent_id = None
        for step in chain:
            folder_id = found.get(step)
            if folder_id is None:
                made = self._upsert(folders).values(
                    company_id=company_id,
                    parent_id=parent_id,
                    path=step,
                    created_at=now,
                    modified_at=now,
                    child_modified_at=now,
                )
                folder_id = c.execute(
                    made.on_conflict_do_nothing().returning(folders.c.id)
                ).scalar() or _folder_id(c, company_id, step)
                _touch(c, [parent_id], now)
            parent_id = folder_id
        assert parent_id is not None
        return parent_id

    def _repath(
        self,
        c: Connection,
        row: Row[Any],
        new: str,
        parent_id: int | None,
        now: datetime,
        field: str,
    ) -> Folder:
        """Moves a folder and its subtree to the path `new` (under `parent_id` when given)."""
        old = row.path
        if new == old:
            return _folder(row)
        longest = c.execute(
            select(func.max(func.length(folders.c.path))).where(*_subtree(row.company_id, old))
        ).scalar_one()
        if longest - len(old) + len(new) > MAX_PATH:
            raise InvalidParameter(field, f"a folder path would pass {MAX_PATH} characters")
        if _folder_row(c, row.company_id, new) is not None:
            raise FolderExists(new)
        c.execute(
            update(folders)
            .where(*_subtree(row.company_id, old))
            .values(path=literal(new).concat(func.substr(folders.c.path, len(old) + 1)))
        )
        moved = (
            {"modified_at": now}
            if parent_id is None
            else {"modified_at": now, "parent_id": parent_id}
        )
        c.execute(update(folders).where(folders.c.id == row.id).values(moved))
        _touch(c, [row.parent_id, parent_id], now)
        return _folder(_folder_row(c, row.company_id, new))

    # -- assets ---------------------------------------------------------------------------
    def asset(self, company_id: int, asset_id: int) -> Asset | None:
        found = self.assets(company_id, [asset_id])
        return found[0] if found else None

    def owner(self, asset_id: int) -> int | None:
        with self.db.checked_read() as c:
            found = c.execute(select(assets.c.company_id).where(assets.c.id == asset_id))
            return found.scalar_one_or_none()

    def assets(self, company_id: int, asset_ids: Sequence[int]) -> Sequence[Asset]:
        wanted = list(dict.fromkeys(asset_ids))
        with self.db.checked_read() as c:
            found = _read(c, assets.c.company_id == company_id, assets.c.id.in_(wanted))
        by_id = {a.id: a for a in found}
        return [by_id[i] for i in wanted if i in by_id]

    def assets_by_name(self, company_id: int, names: Sequence[str]) -> Sequence[Asset]:
        wanted = list(dict.fromkeys(names))
        with self.db.checked_read() as c:
            found = _read(c, assets.c.company_id == company_id, _LIVE, assets.c.name.in_(wanted))
        by_name = {a.name: a for a in found}
        return [by_name[n] for n in wanted if n in by_name]

    def search(self, company_id: int, query: AssetQuery) -> AssetPage:
        with self.db.checked_read() as c:
            top = _folder_row(c, company_id, query.folder)
            if top is None:
                return AssetPage(0, ())
            where = _filters(company_id, query, top)
            total = c.execute(select(func.count()).select_from(assets).where(*where)).scalar_one()
            if query.sort_by is None:
                order = [assets.c.id.desc() if query.descending else assets.c.id]
            else:
                column = _SORT[query.sort_by]
                order = [column.desc() if query.descending else column, assets.c.id]
            found = _read(
                c,
                *where,
                order_by=order,
                limit=query.records_per_page,
                offset=(query.page - 1) * query.records_per_page,
            )
        return AssetPage(total, tuple(found))

    def add_asset(self, company_id: int, draft: AssetDraft, now: datetime, by: str) -> Asset:
        with self._writing(lambda: AssetNameInUse(draft.name)) as c:
            return _one(c, self._insert(c, company_id, draft, now, by))

    def upload(
        self,
        company_id: int,
        draft: AssetDraft,
        overwrite: bool,
        keep_publish_state: bool,
        now: datetime,
        by: str,
    ) -> Uploaded:
        args = (company_id, draft, overwrite, keep_publish_state, now, by)
        try:
            return self._upload(*args)
        except AssetNameInUse:
            # another upload stored the name meanwhile (PostgreSQL): this one now finds it
            return self._upload(*args)

    def _upload(
        self,
        company_id: int,
        draft: AssetDraft,
        overwrite: bool,
        keep_publish_state: bool,
        now: datetime,
        by: str,
    ) -> Uploaded:
        named = (assets.c.company_id == company_id, _LIVE, assets.c.name == draft.name)
        with self._writing(lambda: AssetNameInUse(draft.name)) as c:
            found = _read(c, *named, lock=True)
            if not found:
                new_id = self._insert(c, company_id, draft, now, by)
                return Uploaded(_one(c, new_id), UploadOutcome.CREATED)
            old = found[0]
            if not overwrite:
                return Uploaded(old, UploadOutcome.SKIPPED)
            folder_id = self._ensure_folder(c, company_id, draft.folder, now)
            ready = old.ready_for_publish if keep_publish_state else draft.ready_for_publish
            c.execute(
                update(assets)
                .where(assets.c.id == old.id)
                .values(
                    folder_id=folder_id,
                    type=draft.type,
                    sub_type=draft.sub_type,
                    file_name=draft.file_name,
                    ready_for_publish=ready,
                    modified_at=now,
                    modified_by=by,
                    **_info_values(draft.info),
                )
            )
            if draft.keywords:
                c.execute(delete(asset_keywords).where(asset_keywords.c.asset_id == old.id))
                _add_keywords(c, old.id, draft.keywords)
            _touch(c, [_folder_id(c, company_id, old.folder), folder_id], now)
            return Uploaded(_one(c, old.id), UploadOutcome.UPDATED)

    def _insert(
        self, c: Connection, company_id: int, draft: AssetDraft, now: datetime, by: str
    ) -> int:
        folder_id = self._ensure_folder(c, company_id, draft.folder, now)
        new_id = c.execute(
            insert(assets)
            .values(
                company_id=company_id,
                folder_id=folder_id,
                name=draft.name,
                type=draft.type,
                sub_type=draft.sub_type,
                file_name=draft.file_name,
                ready_for_publish=draft.ready_for_publish,
                trash_state=TrashState.NOT_IN_TRASH.value,
                created_at=now,
                created_by=by,
                modified_at=now,
                modified_by=by,
                **_info_values(draft.info),
            )
            .returning(assets.c.id)
        ).scalar_one()
        _add_keywords(c, new_id, draft.keywords)
        _touch(c, [folder_id], now)
        return int(new_id)

    def rename_asset(
        self, company_id: int, asset_id: int, name: str, now: datetime, by: str
    ) -> Asset | None:
        with self._writing(lambda: AssetNameInUse(name)) as c:
            row = _rows(c, company_id, [asset_id]).get(asset_id)
            if row is None:
                return None
            c.execute(
                update(assets)
                .where(assets.c.id == asset_id)
                .values(
                    name=name,
                    file_name=renamed_file(row.file_name, name),
                    modified_at=now,
                    modified_by=by,
                )
            )
            _touch(c, [row.folder_id], now)
            return _one(c, asset_id)

    def move_assets(
        self, company_id: int, moves: Sequence[tuple[int, str]], now: datetime, by: str
    ) -> BatchOutcome:
        with self._writing() as c:
            rows = _rows(c, company_id, [asset_id for asset_id, _ in moves])
            paths = {path for _, path in moves}
            to = dict(
                c.execute(
                    select(folders.c.path, folders.c.id).where(
                        folders.c.company_id == company_id, folders.c.path.in_(paths)
                    )
                ).all()
            )
            outcome = _Outcome()
            moving: dict[int, list[int]] = {}
            touched = set()
            for asset_id, path in moves:
                if asset_id not in rows:
                    outcome.missing.append(asset_id)
                elif path not in to:
                    outcome.failed.append(AssetFailure(asset_id, NoSuchFolder(path)))
                else:
                    moving.setdefault(to[path], []).append(asset_id)
                    touched |= {rows[asset_id].folder_id, to[path]}
                    outcome.done.append(asset_id)
            for folder_id, ids in moving.items():
                c.execute(
                    update(assets)
                    .where(assets.c.id.in_(ids))
                    .values(folder_id=folder_id, modified_at=now, modified_by=by)
                )
            _touch(c, touched, now)
        return outcome.frozen()

    def change_trash(
        self, company_id: int, asset_ids: Sequence[int], action: TrashAction, now: datetime
    ) -> BatchOutcome:
        with self._writing() as c:
            rows = _rows(c, company_id, asset_ids)
            taken: set[str] = set()
            if action is TrashAction.RESTORE:
                names = [r.name for r in rows.values()]
                taken = set(
                    c.execute(
                        select(assets.c.name).where(
                            assets.c.company_id == company_id, _LIVE, assets.c.name.in_(names)
                        )
                    ).scalars()
                )
            outcome = _Outcome()
            states = {asset_id: TrashState(row.trash_state) for asset_id, row in rows.items()}
            moving: dict[TrashState, list[int]] = {}
            touched = set()
            for asset_id in asset_ids:
                row = rows.get(asset_id)
                if row is None:
                    outcome.missing.append(asset_id)
                    continue
                try:
                    new = trash_move(row.name, states[asset_id], action)
                except WrongTrashState as error:
                    outcome.failed.append(AssetFailure(asset_id, error))
                    continue
                if new is not states[asset_id]:
                    if new is TrashState.NOT_IN_TRASH:
                        if row.name in taken:
                            outcome.failed.append(AssetFailure(asset_id, AssetNameInUse(row.name)))
                            continue
                        taken.add(row.name)
                    moving.setdefault(new, []).append(asset_id)
                    touched.add(row.folder_id)
                    states[asset_id] = new  # an id asked twice moves once
                outcome.done.append(asset_id)
            for state, ids in moving.items():
                c.execute(
                    update(assets).where(assets.c.id.in_(ids)).values(trash_state=state.value)
                )
            _touch(c, touched, now)
        return outcome.frozen()

    def set_ready_for_publish(
        self, company_id: int, changes: Sequence[tuple[int, bool]]
    ) -> BatchOutcome:
        with self._writing() as c:
            rows = _rows(c, company_id, [asset_id for asset_id, _ in changes])
            outcome = _Outcome()
            setting: dict[bool, list[int]] = {}
            for asset_id, ready in changes:
                if asset_id in rows:
                    setting.setdefault(ready, []).append(asset_id)
                    outcome.done.append(asset_id)
                else:
                    outcome.missing.append(asset_id)
            for ready, ids in setting.items():
                c.execute(
                    update(assets).where(assets.c.id.in_(ids)).values(ready_for_publish=ready)
                )
        return outcome.frozen()

    def publish(
        self, company_id: int, publication: Publication, incremental: bool
    ) -> Sequence[int]:
        chosen = select(
            assets.c.id,
            literal(publication.server_name),
            literal(publication.context_name),
            literal(publication.publish_format, asset_publications.c.publish_format.type),
            literal(publication.published_at, UtcDateTime()),
        ).where(assets.c.company_id == company_id, _LIVE, assets.c.ready_for_publish)
        if incremental:
            last = asset_publications.alias("last")
            chosen = chosen.where(
                ~exists().where(
                    last.c.asset_id == assets.c.id,
                    last.c.server_name == publication.server_name,
                    last.c.context_name == publication.context_name,
                    last.c.published_at >= assets.c.modified_at,
                )
            )
        columns = ["asset_id", "server_name", "context_name", "publish_format", "published_at"]
        stmt = self._upsert(asset_publications).from_select(columns, chosen)
        stmt = stmt.on_conflict_do_update(
            index_elements=columns[:3],
            set_={
                "publish_format": stmt.excluded.publish_format,
                "published_at": stmt.excluded.published_at,
            },
        )
        with self._writing() as c:
            # RETURNING, not rowcount: SQLAlchemy reports none for PostgreSQL's INSERT ... SELECT
            published = c.execute(stmt.returning(asset_publications.c.asset_id)).scalars()
            return sorted(published)

    def publications(self, company_id: int, asset_id: int) -> Sequence[Publication]:
        p = asset_publications
        stmt = (
            select(p)
            .join(assets, assets.c.id == p.c.asset_id)
            .where(assets.c.company_id == company_id, p.c.asset_id == asset_id)
            .order_by(p.c.published_at.desc(), p.c.server_name, p.c.context_name)
        )
        with self.db.checked_read() as c:
            return [
                Publication(r.server_name, r.context_name, r.published_at, r.publish_format)
                for r in c.execute(stmt)
            ]


class _Outcome:
    """A BatchOutcome being filled in."""

    def __init__(self) -> None:
        self.done: list[int] = []
        self.missing: list[int] = []
        self.failed: list[AssetFailure] = []

    def frozen(self) -> BatchOutcome:
        return BatchOutcome(tuple(self.done), tuple(self.missing), tuple(self.failed))


# -- folders ----------------------------------------------------------------------------------
def _subtree(company_id: int, path: str) -> list[ColumnElement[bool]]:
    """The folder at `path` and every folder below it (a path is a prefix of its subfolders';
    compared exactly, where LIKE would ignore case on SQLite)."""
    return [
        folders.c.company_id == company_id,
        func.substr(folders.c.path, 1, len(path)) == path,
    ]


def _folder_row(c: Connection, company_id: int, path: str) -> Row[Any] | None:
    return c.execute(
        _FOLDERS.where(folders.c.company_id == company_id, folders.c.path == path)
    ).first()


def _folder_id(c: Connection, company_id: int, path: str) -> int:
    return int(
        c.execute(
            select(folders.c.id).where(folders.c.company_id == company_id, folders.c.path == path)
        ).scalar_one()
    )


def _changeable(c: Connection, company_id: int, path: str) -> Row[Any]:
    """The folder a rename, move or delete is about: one that exists, not the root."""
    row = _folder_row(c, company_id, path)
    if row is None:
        raise NoSuchFolder(path)
    if row.parent_id is None:
        raise RootFolder(path)
    return row


def _touch(c: Connection, folder_ids: Collection[int | None], now: datetime) -> None:
    """Something directly inside these folders changed."""
    ids = [i for i in folder_ids if i is not None]
    if ids:
        c.execute(update(folders).where(folders.c.id.in_(ids)).values(child_modified_at=now))


def _folder(row: Row[Any] | None) -> Folder:
    assert row is not None
    return Folder(
        id=row.id,
        company_id=row.company_id,
        path=row.path,
        created_at=row.created_at,
        modified_at=row.modified_at,
        child_modified_at=row.child_modified_at,
        has_subfolders=bool(row.has_subfolders),
    )


# -- assets -----------------------------------------------------------------------------------
def _read(
    c: Connection,
    *where: ColumnElement[bool],
    order_by: Sequence[Any] = (),
    limit: int | None = None,
    offset: int | None = None,
    lock: bool = False,
) -> list[Asset]:
    """Assets with their folder's path and their keywords (one more query for all of them)."""
    stmt = _ASSETS.where(*where).order_by(*order_by).limit(limit).offset(offset)
    if lock:
        stmt = stmt.with_for_update(of=assets)
    rows = c.execute(stmt).all()
    keywords: dict[int, list[str]] = {}
    if rows:
        found = c.execute(
            select(asset_keywords).where(asset_keywords.c.asset_id.in_([r.id for r in rows]))
        )
        for asset_id, keyword in found:
            keywords.setdefault(asset_id, []).append(keyword)
    return [_asset(r, keywords.get(r.id, ())) for r in rows]


def _one(c: Connection, asset_id: int) -> Asset:
    return _read(c, assets.c.id == asset_id)[0]


def _rows(c: Connection, company_id: int, asset_ids: Sequence[int]) -> dict[int, Row[Any]]:
    """The rows of these of the company's assets, locked for the batch that changes them."""
    stmt = (
        select(assets)
        .where(assets.c.company_id == company_id, assets.c.id.in_(set(asset_ids)))
        .with_for_update()
    )
    return {r.id: r for r in c.execute(stmt)}


def _asset(row: Row[Any], keywords: Collection[str]) -> Asset:
    m = row._mapping
    return Asset(
        id=m["id"],
        company_id=m["company_id"],
        name=m["name"],
        type=m["type"],
        folder=m["folder_path"],
        file_name=m["file_name"],
        ready_for_publish=m["ready_for_publish"],
        trash_state=TrashState(m["trash_state"]),
        created_at=m["created_at"],
        created_by=m["created_by"],
        modified_at=m["modified_at"],
        modified_by=m["modified_by"],
        info=AssetInfo(**m["info"], **{name: m[name] for name in _COLUMNS}),
        sub_type=m["sub_type"],
        keywords=_keywords(keywords),
    )


def _info_values(info: AssetInfo) -> dict[str, Any]:
    fields = asdict(info)
    rest = {k: v for k, v in fields.items() if k not in _COLUMNS and v is not None}
    return {**{name: fields[name] for name in _COLUMNS}, "info": rest}


def _keywords(keywords: Collection[str]) -> tuple[str, ...]:
    return tuple(sorted(set(keywords)))


def _add_keywords(c: Connection, asset_id: int, keywords: Collection[str]) -> None:
    if keywords:
        c.execute(
            insert(asset_keywords),
            [{"asset_id": asset_id, "keyword": k} for k in _keywords(keywords)],
        )


# -- searching --------------------------------------------------------------------------------
def _filters(company_id: int, query: AssetQuery, top: Row[Any]) -> list[ColumnElement[bool]]:
    """A folder's assets are found by its id alone (not the company's), so that SQLite too
    reads them off the folder index."""
    where: list[ColumnElement[bool]] = []
    if not query.include_subfolders:
        where.append(assets.c.folder_id == top.id)
    elif top.parent_id is None:
        where.append(assets.c.company_id == company_id)
    else:
        below = select(folders.c.id).where(*_subtree(company_id, top.path))
        where.append(assets.c.folder_id.in_(below.scalar_subquery()))
    states = query.trash_states
    if states == {TrashState.NOT_IN_TRASH}:
        where.append(_LIVE)
    elif states != set(TrashState):
        where.append(assets.c.trash_state.in_(sorted(s.value for s in states)))
    if query.types is not None:
        where.append(assets.c.type.in_(sorted(query.types)))
    if query.exclude_types:
        where.append(assets.c.type.not_in(sorted(query.exclude_types)))
    if query.sub_types is not None:
        listed = assets.c.sub_type.in_(sorted(query.sub_types))
        where.append(listed if query.strict_sub_types else or_(listed, assets.c.sub_type.is_(None)))
    if query.ready_for_publish is not None:
        where.append(assets.c.ready_for_publish == query.ready_for_publish)
    matched = _match(company_id, query.match)
    if matched is not None:
        where.append(matched)
    return where


def _match(company_id: int, match: Match) -> ColumnElement[bool] | None:
    tests = [
        _match(company_id, item) if isinstance(item, Match) else _condition(company_id, item)
        for item in match.items
    ]
    present = [t for t in tests if t is not None]
    if not present:
        return None
    return or_(*present) if match.any else and_(*present)


def _condition(company_id: int, condition: Condition) -> ColumnElement[bool]:
    op = NEGATED.get(condition.op, condition.op)
    value, field = condition.value, condition.field
    test: ColumnElement[bool]
    if field is Field.KEYWORD:
        test = exists().where(
            asset_keywords.c.asset_id == assets.c.id,
            _text_test(asset_keywords.c.keyword, op, str(value)),
        )
    elif field is Field.FOLDER:
        named = select(folders.c.id).where(
            folders.c.company_id == company_id, _text_test(folders.c.path, op, str(value))
        )
        test = assets.c.folder_id.in_(named.scalar_subquery())
    elif field in _TEXT:
        test = _text_test(_TEXT[field], op, str(value))
    else:
        test = _order_test(_ORDERED[field], op, value, condition.upper)
    return not_(test) if op is not condition.op else test


def _text_test(column: Any, op: Op, value: str) -> ColumnElement[bool]:
    """A positive text test that ignores case (the database's lower(): SQLite's folds ASCII
    letters only). NULL reads as ''."""
    folded = func.lower(func.coalesce(column, ""))
    if op is Op.EQUALS:
        return folded == func.lower(literal(value))
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = {Op.CONTAINS: f"%{escaped}%", Op.STARTS_WITH: f"{escaped}%"}.get(op, f"%{escaped}")
    return folded.like(func.lower(literal(pattern)), escape="\\")


def _order_test(column: Any, op: Op, value: object, upper: object) -> ColumnElement[bool]:
    if op is Op.BETWEEN:
        return column.between(value, upper)
    return _COMPARE[op](column, value)  # type: ignore[no-any-return]


_COMPARE = {
    Op.EQUALS: operator.eq,
    Op.LESS_THAN: operator.lt,
    Op.LESS_THAN_EQUALS: operator.le,
    Op.GREATER_THAN: operator.gt,
    Op.GREATER_THAN_EQUALS: operator.ge,
}
