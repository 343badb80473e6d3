"""Vocabulary for realistic OTC image data.

The pools are tuned to look like what a tenant really finds in an Open Telekom Cloud
``eu-de`` project: golden images built by a platform team, SAP and Windows builds,
Kubernetes node images.  Keeping them in one module keeps ``seed.py`` about *how*
data is generated rather than *what* it looks like.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OsFamily:
    """One operating system line an image can be built from."""

    platform: str  # ``__platform``
    os_type: str  # ``__os_type``
    name_stem: str  # first part of the image name
    os_version: str  # ``__os_version``
    min_disk: int  # GB
    min_ram: int  # MB
    size_gb: tuple[int, int]  # plausible ``__image_size`` range in GB


OS_FAMILIES: tuple[OsFamily, ...] = (
    OsFamily("Ubuntu", "Linux", "Ubuntu_24.04", "Ubuntu 24.04 server 64bit", 40, 1024, (2, 6)),
    OsFamily("Ubuntu", "Linux", "Ubuntu_22.04", "Ubuntu 22.04 server 64bit", 40, 1024, (2, 6)),
    OsFamily("Ubuntu", "Linux", "Ubuntu_20.04", "Ubuntu 20.04 server 64bit", 40, 1024, (2, 5)),
    OsFamily("Debian", "Linux", "Debian_12", "Debian GNU/Linux 12 64bit", 40, 1024, (1, 4)),
    OsFamily("Debian", "Linux", "Debian_11", "Debian GNU/Linux 11 64bit", 40, 1024, (1, 4)),
    OsFamily("CentOS", "Linux", "CentOS_Stream_9", "CentOS Stream 9 64bit", 40, 1024, (2, 6)),
    OsFamily("CentOS", "Linux", "CentOS_7.9", "CentOS 7.9 64bit", 40, 1024, (2, 5)),
    OsFamily("EulerOS", "Linux", "EulerOS_2.10", "EulerOS 2.10 64bit", 40, 1024, (2, 5)),
    OsFamily("EulerOS", "Linux", "EulerOS_2.5", "EulerOS 2.5 64bit", 40, 1024, (2, 5)),
    OsFamily(
        "openSUSE", "Linux", "openSUSE_Leap_15.6", "OpenSUSE Leap 15.6 64bit", 40, 1024, (2, 5)
    ),
    OsFamily(
        "SUSE",
        "Linux",
        "SLES_15_SP5",
        "SUSE Linux Enterprise Server 15 SP5 64bit",
        40,
        2048,
        (3, 8),
    ),
    OsFamily(
        "SUSE",
        "Linux",
        "SLES_15_SP5_SAP",
        "SUSE Linux Enterprise Server 15 SP5 for SAP 64bit",
        60,
        4096,
        (6, 14),
    ),
    OsFamily("RedHat", "Linux", "RHEL_9.4", "Red Hat Enterprise Linux 9.4 64bit", 40, 2048, (3, 7)),
    OsFamily("Oracle", "Linux", "Oracle_Linux_9", "Oracle Linux 9.3 64bit", 40, 2048, (3, 7)),
    OsFamily("Fedora", "Linux", "Fedora_CoreOS_40", "Fedora CoreOS 40 64bit", 20, 2048, (1, 3)),
    OsFamily(
        "Windows",
        "Windows",
        "Standard_Windows_2022",
        "Windows Server 2022 Datacenter 64bit",
        40,
        4096,
        (12, 28),
    ),
    OsFamily(
        "Windows",
        "Windows",
        "Standard_Windows_2019",
        "Windows Server 2019 Datacenter 64bit",
        40,
        4096,
        (11, 25),
    ),
    OsFamily(
        "Windows",
        "Windows",
        "Standard_Windows_2016",
        "Windows Server 2016 Datacenter 64bit",
        40,
        2048,
        (10, 22),
    ),
)

#: Weight of each family above (Linux dominates, as in real tenants).
OS_WEIGHTS: tuple[int, ...] = (14, 10, 4, 7, 3, 8, 3, 4, 2, 3, 4, 3, 4, 2, 2, 8, 5, 2)

#: What the image was built for: name suffix, tags and a description fragment.
LINUX_PURPOSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("hardened", ("cis", "hardened"), "CIS level 2 hardened base image"),
    ("k8s_node", ("kubernetes", "cce"), "Kubernetes worker node with containerd"),
    ("docker", ("docker",), "Docker CE host"),
    ("base", (), "Minimal base image"),
    ("postgres16", ("database", "postgresql"), "PostgreSQL 16 server"),
    ("nginx_gw", ("web", "nginx"), "NGINX reverse proxy / ingress gateway"),
    ("gitlab_runner", ("ci",), "GitLab runner with build toolchain"),
    ("hana_ready", ("sap", "hana"), "Prepared for SAP HANA 2.0 SPS07"),
    ("jumphost", ("bastion",), "Bastion host with MFA and session recording"),
    ("monitoring", ("prometheus", "grafana"), "Prometheus, Alertmanager and Grafana"),
)
WINDOWS_PURPOSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("", (), "Golden Windows image with current patches"),
    ("SQL", ("database", "mssql"), "SQL Server 2022 Standard"),
    ("IIS", ("web", "iis"), "IIS web server role installed"),
    ("AD_DC", ("ad",), "Prepared for Active Directory domain controllers"),
    ("RDS", ("rds",), "Remote Desktop Session Host"),
)

#: (owner project name, owner user name) for the projects that share images with us.
OWNER_PROJECTS: tuple[tuple[str, str], ...] = (
    ("eu-de_platform", "platform-ci"),
    ("eu-de_sap_basis", "sap-basis-admin"),
    ("eu-de_security", "secops"),
    ("eu-de_k8s_factory", "k8s-builder"),
    ("eu-de_windows_gold", "wintel-admin"),
)

#: Projects that receive shares but have no demo users: used for "not a member" cases.
BYSTANDER_PROJECTS: tuple[str, ...] = ("eu-de_finance", "eu-de_analytics", "eu-de_hr_apps")

PUBLIC_IMAGES: tuple[tuple[str, int], ...] = (
    ("Standard_Ubuntu_24.04_latest", 0),
    ("Standard_Debian_12_latest", 3),
)

DISK_FORMATS: tuple[str, ...] = ("zvhd2", "zvhd2", "zvhd2", "vhd", "qcow2", "raw")
LAZYLOADING: tuple[str, ...] = ("true", "True", "False", "true", "false")
KVM_GPU_TYPES: tuple[str, ...] = ("V100_vGPU", "T4", "A100")
XEN_GPU_TYPES: tuple[str, ...] = ("M60_vGPU", "P100")
