"""Deterministic generation of the demo cloud's projects, users and images.

Everything derives from one ``random.Random(seed)`` so the same ``(images, seed)`` gives
byte-identical data on every machine: screenshots, tests and benchmarks depend on it.
Times are spread over the two years before :data:`EPOCH`, a fixed instant, for the same
reason (using "now" would make every run different).
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import catalog
from .records import DEFAULT_REGION, Domain, Image, Member, Project, User
from .wire import glance_time

#: The instant seeded data is "as of".  Changes made at run time use the real clock.
EPOCH: float = datetime(2026, 11, 1, 8, 0, 0, tzinfo=UTC).timestamp()
TWO_YEARS = 730 * 86400.0

DEMO_DOMAIN = "OTC00000000001000000501"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_PROJECT = "eu-de_demo"
#: A second project of the demo user, so switching project in the app can be tried.
DEMO_SECOND_PROJECT = "eu-de_demo_staging"
REGION = DEFAULT_REGION
#: How many projects the demo user has unless told otherwise (today's world: two).
DEFAULT_PROJECTS = 2
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"

#: How often each member status occurs among images shared with the demo project.
STATUS_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("pending", 0.5),
    ("accepted", 0.3),
    ("rejected", 0.2),
)
#: Per-project (pending, accepted, rejected) mixes in a multi-project world, cycled by the
#: project's index: each project gets its own mix, and project 0 keeps today's.
PROJECT_STATUS_MIXES: tuple[tuple[float, float, float], ...] = (
    (0.5, 0.3, 0.2),
    (0.3, 0.5, 0.2),
    (0.7, 0.1, 0.2),
    (0.2, 0.4, 0.4),
    (0.4, 0.2, 0.4),
    (0.6, 0.3, 0.1),
)
#: In a multi-project world, the share of images that also go to a second user project.
DOUBLE_SHARE_RATE = 0.10
WHOLE_IMAGE_RATE = 0.05
OWN_SHARED_IMAGES = 5
_REGION_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(slots=True)
class SeedData:
    """Everything the store starts with.

    ``demo_user.projects`` are the user's projects in order (project 0 is
    ``demo_project``); ``owner_projects`` and ``bystander_projects`` hold those of every
    region, region by region, in the order of ``regions``.
    """

    domains: list[Domain]
    projects: list[Project]
    users: list[User]
    demo_user: User
    demo_project: Project
    owner_users: list[User]
    owner_projects: list[Project]
    bystander_projects: list[Project]
    images: list[Image]
    members: dict[str, dict[str, Member]] = field(default_factory=dict)
    vault_ids: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=lambda: [DEFAULT_REGION])


class _Ids:
    """Id factory on top of the seeded RNG (``uuid4`` would not be reproducible)."""

    def __init__(self, rng: random.Random) -> None:
        self._bits = rng.getrandbits

    def hex32(self) -> str:
        return f"{self._bits(128):032x}"

    def uuid(self) -> str:
        """A version-4 UUID string, formatted by hand (``uuid.UUID`` is slow in bulk)."""
        h = f"{self._bits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def regional_name(name: str, region: str) -> str:
    """``eu-de_platform`` as it is called in ``region`` (OTC names start with the region)."""
    prefix = DEFAULT_REGION + "_"
    return region + "_" + name[len(prefix) :] if name.startswith(prefix) else name


def user_project_name(index: int, region: str) -> str:
    """The demo user's project ``index``: ``<region>_demo``, ``_demo_staging``, ``_teamNN``."""
    if index == 0:
        return f"{region}_demo"
    if index == 1:
        return f"{region}_demo_staging"
    return f"{region}_team{index:02d}"


def check_world(images: int, projects: int, regions: Sequence[str]) -> tuple[str, ...]:
    """Validate the world's shape; returns the regions as a tuple (raises ``ValueError``)."""
    if images < 0:
        raise ValueError("images must be >= 0")
    if projects < 1:
        raise ValueError("projects must be >= 1")
    if isinstance(regions, str):
        raise ValueError("regions must be a sequence of region names, not a string")
    out = tuple(regions)
    if not out:
        raise ValueError("at least one region is needed")
    for region in out:
        if not _REGION_RE.fullmatch(region):
            raise ValueError(f"invalid region name: {region!r} (lower case, digits, '-')")
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate region in {', '.join(out)}")
    return out


def generate(
    images: int = 300,
    seed: int = 1,
    projects: int = DEFAULT_PROJECTS,
    regions: Sequence[str] = (REGION,),
) -> SeedData:
    """Build the seeded world: ``images`` images shared with the demo user, plus extras.

    Extras: :data:`OWN_SHARED_IMAGES` images owned by the demo project and shared with a
    bystander (a ``visibility=shared`` listing returns them and clients must drop them),
    a few images shared only with bystanders (for "not a member" paths) and a couple of
    public images.

    With at most two projects in one region this is today's world, draw for draw (the
    app's screenshots depend on it): every share goes to project 0 and about 15 % of them
    also to ``<region>_demo_staging``.  Otherwise see :func:`_spread_images`: the user has
    ``projects`` projects spread round-robin over ``regions``, each region has its own
    owner and bystander projects, and the shares are spread over the user's projects.
    """
    regions = check_world(images, projects, regions)
    first = regions[0]
    rng = random.Random(seed)
    ids = _Ids(rng)

    # Identities first, from the main RNG and in today's order: ids stay stable whatever
    # the number of projects or regions.
    demo_domain = Domain(ids.hex32(), DEMO_DOMAIN)
    demo_project = Project(ids.hex32(), user_project_name(0, first), demo_domain, first)
    demo_user = User(ids.hex32(), DEMO_USER, DEMO_PASSWORD, demo_domain, [demo_project])
    domains = [demo_domain]
    owner_projects: list[Project] = []
    owner_users: list[User] = []
    for i, (pname, uname) in enumerate(catalog.OWNER_PROJECTS, start=1):
        dom = Domain(ids.hex32(), f"OTC0000000000100000{510 + i:04d}")
        proj = Project(ids.hex32(), regional_name(pname, first), dom, first)
        domains.append(dom)
        owner_projects.append(proj)
        owner_users.append(User(ids.hex32(), uname, f"owner{i}-password", dom, [proj]))
    bystanders = [
        Project(
            ids.hex32(),
            regional_name(name, first),
            Domain(ids.hex32(), f"OTC0000000000100000{600 + i:04d}"),
            first,
        )
        for i, name in enumerate(catalog.BYSTANDER_PROJECTS, start=1)
    ]
    domains.extend(p.domain for p in bystanders)
    vault_ids = [ids.uuid() for _ in range(3)]

    data = SeedData(
        domains=domains,
        projects=[demo_project, *owner_projects, *bystanders],
        users=[demo_user, *owner_users],
        demo_user=demo_user,
        demo_project=demo_project,
        owner_users=owner_users,
        owner_projects=owner_projects,
        bystander_projects=bystanders,
        images=[],
        vault_ids=vault_ids,
        regions=list(regions),
    )
    maker = _ImageMaker(rng, ids, first)
    if len(regions) == 1 and projects <= DEFAULT_PROJECTS:
        _legacy_images(data, maker, rng, images)
        if projects == DEFAULT_PROJECTS:
            _add_second_project(data, maker, random.Random(f"{seed}-second-project"))
        return data
    _add_user_projects(data, seed, projects)
    for region in regions[1:]:
        _add_region(data, region, random.Random(f"{seed}-region-{region}"))
    _spread_images(data, maker, rng, images)
    return data


def _legacy_images(data: SeedData, maker: _ImageMaker, rng: random.Random, images: int) -> None:
    """Today's images: every share goes to project 0.  The order of draws is the contract."""
    demo_project = data.demo_project
    owner_projects = data.owner_projects
    bystanders = data.bystander_projects
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    owner_ids = [p.id for p in owner_projects]
    owners = tuple(p.id for p in owner_projects)
    for status in rng.choices(statuses, weights, k=images):
        img = maker.make(owners[int(rng.random() * len(owners))], "shared")
        data.images.append(img)
        data.members[img.id] = {
            demo_project.id: maker.member(img, demo_project.id, status),
        }
        if rng.random() < 0.2:  # some images are also shared with a bystander
            other = rng.choice(bystanders).id
            data.members[img.id][other] = maker.member(img, other, rng.choice(statuses))
    for _ in range(OWN_SHARED_IMAGES):
        img = maker.make(demo_project.id, "shared", whole=False)
        data.images.append(img)
        other = rng.choice(bystanders).id
        data.members[img.id] = {other: maker.member(img, other, rng.choice(statuses))}
    for _ in range(min(50, max(5, images // 50))):
        img = maker.make(rng.choice(owner_ids), "shared", whole=False)
        data.images.append(img)
        other = rng.choice(bystanders).id
        data.members[img.id] = {other: maker.member(img, other, rng.choice(statuses))}
    for name, fam in catalog.PUBLIC_IMAGES:
        data.images.append(maker.make(owner_ids[0], "public", whole=False, family=fam, name=name))


def _add_second_project(data: SeedData, maker: _ImageMaker, rng: random.Random) -> None:
    """Give the demo user a second project with a share of its own images.

    Drawn from a separate RNG after everything else, so the first project's data is the same
    with or without it.
    """
    ids = _Ids(rng)
    demo = data.demo_project
    second = Project(ids.hex32(), user_project_name(1, demo.region), demo.domain, demo.region)
    data.projects.append(second)
    data.demo_user.projects.append(second)
    statuses = [s for s, _ in STATUS_WEIGHTS]
    for img in data.images:
        if demo.id in data.members.get(img.id, {}) and rng.random() < 0.15:
            data.members[img.id][second.id] = maker.member(img, second.id, rng.choice(statuses))


def _add_user_projects(data: SeedData, seed: int, projects: int) -> None:
    """The demo user's projects 1..N-1, round-robin over the regions.

    Each id comes from its own RNG (project 1 from the one today's staging project uses),
    so a project keeps its id whatever ``projects`` is.
    """
    demo = data.demo_project
    regions = data.regions
    for index in range(1, projects):
        name = f"{seed}-second-project" if index == 1 else f"{seed}-project-{index}"
        region = regions[index % len(regions)]
        proj = Project(
            _Ids(random.Random(name)).hex32(),
            user_project_name(index, region),
            demo.domain,
            region,
        )
        data.projects.append(proj)
        data.demo_user.projects.append(proj)


def _add_region(data: SeedData, region: str, rng: random.Random) -> None:
    """Owner and bystander projects in another region: same accounts, one project each.

    An OTC account (domain) has projects in several regions, and the same IAM user can own
    images in each, so the owner users stay and get a project in ``region``.
    """
    ids = _Ids(rng)
    first = data.regions[0]
    for user in data.owner_users:
        home = user.projects[0]
        proj = Project(ids.hex32(), region + home.name[len(first) :], user.domain, region)
        user.projects.append(proj)
        data.owner_projects.append(proj)
        data.projects.append(proj)
    for home in [p for p in data.bystander_projects if p.region == first]:
        proj = Project(ids.hex32(), region + home.name[len(first) :], home.domain, region)
        data.bystander_projects.append(proj)
        data.projects.append(proj)


def _by_region(projects: Sequence[Project]) -> dict[str, list[Project]]:
    out: dict[str, list[Project]] = {}
    for proj in projects:
        out.setdefault(proj.region, []).append(proj)
    return out


def _spread_images(data: SeedData, maker: _ImageMaker, rng: random.Random, images: int) -> None:
    """Shares spread over the user's projects (multi-project / multi-region world).

    Share ``k`` goes to user project ``k % N`` (so every project gets some), with that
    project's own status mix, from an owner in the project's region.  About
    :data:`DOUBLE_SHARE_RATE` of the shares also go to another user project: in the same
    region that is the same image id with a second member record; in another region it is
    a *replica* (OTC shares only within a region: an image reaches another region by being
    replicated there, as a new image with a new id), owned by the same account's project
    in that region.
    """
    users = data.demo_user.projects
    n = len(users)
    owners = _by_region(data.owner_projects)
    bystanders = _by_region(data.bystander_projects)
    statuses = [s for s, _ in STATUS_WEIGHTS]
    mixes = [
        list(itertools.accumulate(PROJECT_STATUS_MIXES[i % len(PROJECT_STATUS_MIXES)]))
        for i in range(n)
    ]
    rand = rng.random

    def status_of(index: int) -> str:
        cum = mixes[index]
        return statuses[min(bisect.bisect(cum, rand() * cum[-1]), len(statuses) - 1)]

    def bystander_of(region: str) -> str:
        pool = bystanders[region]
        return pool[int(rand() * len(pool))].id

    for k in range(images):
        index = k % n
        target = users[index]
        status = status_of(index)
        region_owners = owners[target.region]
        owner_index = int(rand() * len(region_owners))
        img = maker.make(region_owners[owner_index].id, "shared", region=target.region)
        data.images.append(img)
        table = data.members[img.id] = {target.id: maker.member(img, target.id, status)}
        if n > 1 and rand() < DOUBLE_SHARE_RATE:
            other_index = (index + 1 + int(rand() * (n - 1))) % n
            other = users[other_index]
            other_status = status_of(other_index)
            if other.region == target.region:
                table[other.id] = maker.member(img, other.id, other_status)
            else:
                copy = maker.replicate(img, owners[other.region][owner_index].id, other.region)
                data.images.append(copy)
                data.members[copy.id] = {other.id: maker.member(copy, other.id, other_status)}
        if rand() < 0.2:  # some images are also shared with a bystander
            other_id = bystander_of(target.region)
            table[other_id] = maker.member(img, other_id, statuses[int(rand() * 3)])
    # Each user project owns images shared with a bystander (listings must drop them).
    for index, proj in enumerate(users):
        for _ in range(OWN_SHARED_IMAGES if index == 0 else 1):
            img = maker.make(proj.id, "shared", whole=False, region=proj.region)
            data.images.append(img)
            other_id = bystander_of(proj.region)
            data.members[img.id] = {other_id: maker.member(img, other_id, statuses[0])}
    for region in data.regions:
        region_owners = owners[region]
        for _ in range(min(50, max(5, images // 50))):
            owner = region_owners[int(rand() * len(region_owners))].id
            img = maker.make(owner, "shared", whole=False, region=region)
            data.images.append(img)
            other_id = bystander_of(region)
            data.members[img.id] = {other_id: maker.member(img, other_id, statuses[2])}
        for name, fam in catalog.PUBLIC_IMAGES:
            data.images.append(
                maker.make(
                    region_owners[0].id, "public", whole=False, family=fam, name=name, region=region
                )
            )


class _ImageMaker:
    """Turns RNG draws into OTC-shaped image JSON.

    The JSON is written from a template rather than ``json.dumps`` of a dict: that is
    five times faster, which is what makes 50,000 images cheap.  It is safe because
    every string comes from :mod:`catalog` or from ids/times we format ourselves (none
    contains a quote, a backslash or a control character; a test parses all of them).
    """

    #: Fields every image shares, written once.
    CONSTANT = (
        '"schema": "/v2/schemas/image", "__image_source_type": "uds", '
        '"container_format": "bare", "protected": false, '
        f'"checksum": "{EMPTY_MD5}", "__support_kvm": "true", "size": 0, '
        '"virtual_size": null, "__os_bit": "64", "__isregistered": "true", '
        '"virtual_env_type": "FusionCompute", "status": "active"'
    )

    def __init__(self, rng: random.Random, ids: _Ids, region: str = DEFAULT_REGION) -> None:
        self.rng = rng
        self.ids = ids
        self.region = region  # where images are made unless told otherwise
        self.created: dict[str, float] = {}
        self._cum_weights = list(itertools.accumulate(catalog.OS_WEIGHTS))
        # Per-family and per-purpose JSON fragments: most of an image is one of a few
        # dozen variants, so format those once instead of per image.
        self._family_json = [
            f'"__os_type": "{f.os_type}", "__os_version": "{f.os_version}", '
            f'"min_ram": {f.min_ram}, "__platform": "{f.platform}"'
            + (', "__support_fc_inject": "false"' if f.os_type == "Windows" else "")
            for f in catalog.OS_FAMILIES
        ]
        self._owner_json: dict[tuple[str, str], str] = {}

    def _pick(self, seq: tuple[Any, ...]) -> Any:
        """``rng.choice`` without its Python-level overhead."""
        return seq[int(self.rng.random() * len(seq))]

    @staticmethod
    def _location(owner: str, region: str) -> str:
        """``__image_location``: the region's OBS bucket of the owner's images."""
        return f"https://obs.{region}.otc.t-systems.com/ims-{owner[:8]}"

    def _owner_fragment(self, owner: str, region: str) -> str:
        frag = self._owner_json.get((owner, region))
        if frag is None:
            frag = self._owner_json[(owner, region)] = (
                f'"owner": "{owner}", "__image_location": "{self._location(owner, region)}"'
            )
        return frag

    def make(
        self,
        owner: str,
        visibility: str,
        *,
        whole: bool | None = None,
        family: int | None = None,
        name: str | None = None,
        region: str | None = None,
    ) -> Image:
        """One image.  The order of RNG draws is part of the seed's contract: keep it."""
        region = region or self.region
        rand = self.rng.random
        pick = self._pick
        if family is None:
            family = bisect.bisect(self._cum_weights, rand() * self._cum_weights[-1])
        fam = catalog.OS_FAMILIES[family]
        created = EPOCH - rand() * TWO_YEARS
        updated = min(EPOCH, created + rand() * 2 * 86400)
        windows = fam.os_type == "Windows"
        suffix, tags, desc = pick(catalog.WINDOWS_PURPOSES if windows else catalog.LINUX_PURPOSES)
        created_s = glance_time(created)
        if name is None:
            if not windows or rand() < 0.4:
                stamp = created_s[:4] + created_s[5:7] + created_s[8:10]
                name = f"{fam.name_stem}_{suffix}_{stamp}" if suffix else f"{fam.name_stem}_{stamp}"
            else:
                name = f"{fam.name_stem}_{suffix}" if suffix else fam.name_stem
        if whole is None:
            whole = rand() < WHOLE_IMAGE_RATE
        image_id = self.ids.uuid()
        lo, hi = fam.size_gb
        size_bytes = int((lo + rand() * (hi - lo)) * 1024**3)
        firmware = "uefi" if rand() < 0.25 else "bios"
        min_disk = fam.min_disk + (pick((0, 0, 0, 10, 20)) if whole else 0)
        extra = ""
        gpu = rand()
        if gpu < 0.08:
            extra = f', "__support_kvm_gpu_type": "{pick(catalog.KVM_GPU_TYPES)}"'
        elif gpu < 0.11:
            extra = f', "__support_xen_gpu_type": "{pick(catalog.XEN_GPU_TYPES)}"'
        if whole:
            extra += f', "__whole_image": "true", "__backup_id": "{self.ids.uuid()}"'
            desc = f"Full-ECS image: {desc}"
        tag_json = ", ".join(f'"{t}"' for t in sorted(tags)) if tags else ""
        raw = (
            f'{{"id": "{image_id}", "name": "{name}", "min_disk": {min_disk}, '
            f'"created_at": "{created_s}", "updated_at": "{glance_time(updated)}", '
            f'"active_at": "{created_s}", "visibility": "{visibility}", '
            f'"self": "/v2/images/{image_id}", "file": "/v2/images/{image_id}/file", '
            f"{self._owner_fragment(owner, region)}, {self._family_json[family]}, "
            f'"disk_format": "{pick(catalog.DISK_FORMATS)}", "tags": [{tag_json}], '
            f'"__image_size": "{size_bytes}", '
            f'"__imagetype": "{"gold" if visibility == "public" else "shared"}", '
            f'"__lazyloading": "{pick(catalog.LAZYLOADING)}", "__description": "{desc}", '
            f'"__originalimagename": "{self.ids.uuid()}", "hw_firmware_type": "{firmware}", '
            f"{self.CONSTANT}{extra}}}"
        )
        self.created[image_id] = created
        return Image(image_id, owner, visibility, name, created_s, raw.encode(), region=region)

    def replicate(self, img: Image, owner: str, region: str) -> Image:
        """``img`` replicated to ``region`` for ``owner``: a new image with a new id.

        OTC shares images only within their region; to share across regions the owner
        replicates the image to the target region first (IMS UMN, "What Are the Differences
        Between Sharing Images and Replicating Images?").  The replica keeps the name and
        properties and is created a few days after the source.
        """
        doc = json.loads(img.raw)
        created = min(EPOCH, self.created[img.id] + self.rng.random() * 10 * 86400)
        stamp = glance_time(created)
        image_id = self.ids.uuid()
        doc.update(
            {
                "id": image_id,
                "owner": owner,
                "created_at": stamp,
                "updated_at": stamp,
                "active_at": stamp,
                "self": f"/v2/images/{image_id}",
                "file": f"/v2/images/{image_id}/file",
                "__image_location": self._location(owner, region),
            }
        )
        self.created[image_id] = created
        return Image.from_doc(doc, region)

    def member(self, img: Image, member_id: str, status: str) -> Member:
        """A membership shared some days after the image was created."""
        created_ts = self.created[img.id]
        rand = self.rng.random
        shared = min(EPOCH, created_ts + rand() * 30 * 86400)
        decided = shared if status == "pending" else min(EPOCH, shared + rand() * 20 * 86400)
        return Member(img.id, member_id, status, shared, decided)
