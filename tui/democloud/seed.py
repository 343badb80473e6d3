"""Deterministic generation of the demo cloud's projects, users and images.

Everything derives from one ``random.Random(seed)`` so the same ``(images, seed)`` gives
byte-identical data on every machine: screenshots, tests and benchmarks depend on it.
Times are spread over the two years before :data:`EPOCH`, a fixed instant, for the same
reason (using "now" would make every run different).
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import catalog
from .records import Domain, Image, Member, Project, User
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
REGION = "eu-de"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"

#: How often each member status occurs among images shared with the demo project.
STATUS_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("pending", 0.5),
    ("accepted", 0.3),
    ("rejected", 0.2),
)
WHOLE_IMAGE_RATE = 0.05
OWN_SHARED_IMAGES = 5


@dataclass(slots=True)
class SeedData:
    """Everything the store starts with."""

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


def generate(images: int = 300, seed: int = 1) -> SeedData:
    """Build the seeded world: ``images`` images shared with the demo project, plus extras.

    Extras: :data:`OWN_SHARED_IMAGES` images owned by the demo project and shared with a
    bystander (a ``visibility=shared`` listing returns them and clients must drop them),
    a few images shared only with bystanders (for "not a member" paths) and a couple of
    public images.
    """
    if images < 0:
        raise ValueError("images must be >= 0")
    rng = random.Random(seed)
    ids = _Ids(rng)

    demo_domain = Domain(ids.hex32(), DEMO_DOMAIN)
    demo_project = Project(ids.hex32(), DEMO_PROJECT, demo_domain)
    demo_user = User(ids.hex32(), DEMO_USER, DEMO_PASSWORD, demo_domain, [demo_project])
    domains = [demo_domain]
    owner_projects: list[Project] = []
    owner_users: list[User] = []
    for i, (pname, uname) in enumerate(catalog.OWNER_PROJECTS, start=1):
        dom = Domain(ids.hex32(), f"OTC0000000000100000{510 + i:04d}")
        proj = Project(ids.hex32(), pname, dom)
        domains.append(dom)
        owner_projects.append(proj)
        owner_users.append(User(ids.hex32(), uname, f"owner{i}-password", dom, [proj]))
    bystanders = [
        Project(ids.hex32(), name, Domain(ids.hex32(), f"OTC0000000000100000{600 + i:04d}"))
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
    )
    maker = _ImageMaker(rng, ids)
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
    _add_second_project(data, maker, random.Random(f"{seed}-second-project"))
    return data


def _add_second_project(data: SeedData, maker: _ImageMaker, rng: random.Random) -> None:
    """Give the demo user a second project with a share of its own images.

    Drawn from a separate RNG after everything else, so the first project's data is the same
    with or without it.
    """
    ids = _Ids(rng)
    demo = data.demo_project
    second = Project(ids.hex32(), DEMO_SECOND_PROJECT, demo.domain)
    data.projects.append(second)
    data.demo_user.projects.append(second)
    statuses = [s for s, _ in STATUS_WEIGHTS]
    for img in data.images:
        if demo.id in data.members.get(img.id, {}) and rng.random() < 0.15:
            data.members[img.id][second.id] = maker.member(img, second.id, rng.choice(statuses))


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

    def __init__(self, rng: random.Random, ids: _Ids) -> None:
        self.rng = rng
        self.ids = ids
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
        self._owner_json: dict[str, str] = {}

    def _pick(self, seq: tuple[Any, ...]) -> Any:
        """``rng.choice`` without its Python-level overhead."""
        return seq[int(self.rng.random() * len(seq))]

    def _owner_fragment(self, owner: str) -> str:
        frag = self._owner_json.get(owner)
        if frag is None:
            frag = self._owner_json[owner] = (
                f'"owner": "{owner}", '
                f'"__image_location": "https://obs.eu-de.otc.t-systems.com/ims-{owner[:8]}"'
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
    ) -> Image:
        """One image.  The order of RNG draws is part of the seed's contract: keep it."""
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
            f"{self._owner_fragment(owner)}, {self._family_json[family]}, "
            f'"disk_format": "{pick(catalog.DISK_FORMATS)}", "tags": [{tag_json}], '
            f'"__image_size": "{size_bytes}", '
            f'"__imagetype": "{"gold" if visibility == "public" else "shared"}", '
            f'"__lazyloading": "{pick(catalog.LAZYLOADING)}", "__description": "{desc}", '
            f'"__originalimagename": "{self.ids.uuid()}", "hw_firmware_type": "{firmware}", '
            f"{self.CONSTANT}{extra}}}"
        )
        self.created[image_id] = created
        return Image(image_id, owner, visibility, name, created_s, raw.encode())

    def member(self, img: Image, member_id: str, status: str) -> Member:
        """A membership shared some days after the image was created."""
        created_ts = self.created[img.id]
        rand = self.rng.random
        shared = min(EPOCH, created_ts + rand() * 30 * 86400)
        decided = shared if status == "pending" else min(EPOCH, shared + rand() * 20 * 86400)
        return Member(img.id, member_id, status, shared, decided)
