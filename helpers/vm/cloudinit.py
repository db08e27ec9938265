"""A cloud-init NoCloud seed ISO, made in pure Python (pycdlib): how an --image guest gets its keys.

    from helpers.vm.cloudinit import seed_iso
    seed_iso(Path("seed.iso"), instance_id="vmiso-3f2a", hostname="vmiso-guest", user="debian",
             authorized_key=client_public,              # "ssh-ed25519 AAAA... vmiso"
             host_key_private=host_private,             # OpenSSH format, unencrypted ed25519
             host_key_public=host_public)               # "ssh-ed25519 AAAA..."
    # qemu ... -cdrom seed.iso   (or a <disk device='cdrom'>): cloud-init finds the volume
    # labelled cidata, creates `user` with passwordless sudo and the one authorized key, and
    # installs the given host key as the guest's only one, so the client pins it.

The ISO is ISO 9660 with Joliet and Rock Ridge, volume identifier `cidata`, holding `user-data`
(#cloud-config) and `meta-data` (instance-id, local-hostname). No network-config: cloud-init's
default, DHCP on the first NIC, is what the suite wants.

user-data names the login user explicitly (not the image's `default` user, whose name and
groups differ from image to image): locked password, shell /bin/bash, sudo without a password,
the authorized key. There is no top-level ssh_authorized_keys, which cloud-init would also copy
into root's authorized_keys behind its "please log in as" prefix. Root logins and passwords are
off; ssh_deletekeys and an empty ssh_genkeytypes leave the pinned ed25519 key as the guest's only
host key. Bad input raises ValueError with a one-line message.
"""

import base64
import io
import os
import re
import tempfile
from pathlib import Path

import pycdlib
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

VOLUME_ID = "cidata"
SUDO_RULE = "ALL=(ALL) NOPASSWD:ALL"
# Debian's useradd accepts more, but this is what every distribution's tools accept (and adduser's
# default NAME_REGEX, less its trailing $ for machine accounts).
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
HOST_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# cloud-init keeps per-instance state in /var/lib/cloud/instances/<instance-id>.
INSTANCE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
             "sk-ecdsa-sha2-nistp256@openssh.com")


class _Dumper(yaml.SafeDumper):
    """safe_dump, with multi-line strings (the private key) as literal blocks where YAML allows
    it; PyYAML falls back to a quoted scalar where it does not, so values always round-trip."""


_Dumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def _dump(config):
    # No line folding: a key stays on one line, as in an authorized_keys file.
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)


def _text(what, value):
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {type(value).__name__}")
    return value


def check_user(user):
    user = _text("user", user)
    if not USER_RE.fullmatch(user):
        raise ValueError(f"user {user!r} is not a valid Linux user name (lower-case letters, "
                         f"digits, '_' and '-', starting with a letter or '_', 32 at most)")
    if user == "root":
        raise ValueError("user 'root' cannot be the login user: the seed disables root logins; "
                         "pass the image's default user")
    return user


def check_hostname(hostname):
    hostname = _text("hostname", hostname)
    labels = hostname.split(".")
    if len(hostname) > 253 or not all(HOST_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"hostname {hostname!r} is not a valid host name (dot-separated labels "
                         f"of letters, digits and '-', 63 characters each, 253 in all)")
    return hostname


def check_instance_id(instance_id):
    instance_id = _text("instance_id", instance_id)
    if not INSTANCE_ID_RE.fullmatch(instance_id):
        raise ValueError(f"instance_id {instance_id!r} is not valid (letters, digits, '.', '_', "
                         f"':' and '-', starting with a letter or digit, 128 at most)")
    return instance_id


def _key_blob(what, line):
    """The key type and decoded blob of a public key line 'TYPE BASE64 [COMMENT]'."""
    line = _text(what, line).strip()
    if not line:
        raise ValueError(f"{what} is empty: pass an OpenSSH public key line, "
                         f"'ssh-ed25519 AAAA... comment'")
    if "\n" in line or "\r" in line:
        raise ValueError(f"{what} must be a single line (one OpenSSH public key)")
    fields = line.split(None, 2)
    if len(fields) < 2 or fields[0] not in KEY_TYPES:
        raise ValueError(f"{what} is not an OpenSSH public key line ('TYPE BASE64 [COMMENT]', "
                         f"TYPE one of {', '.join(KEY_TYPES)})")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except ValueError:
        raise ValueError(f"{what} has a key that is not valid base64") from None
    name = fields[0].encode()
    if blob[:4 + len(name)] != len(name).to_bytes(4, "big") + name:
        raise ValueError(f"{what}: the key data is not a {fields[0]} key")
    return fields[0], blob, line


def check_authorized_key(key):
    return _key_blob("authorized_key", key)[2]


def check_host_key(private, public):
    """The pinned host key: an unencrypted OpenSSH-format ed25519 private key and the public
    key that belongs to it. Returns both as cloud-init gets them."""
    private = _text("host_key_private", private).strip()
    if not private:
        raise ValueError("host_key_private is empty: pass an OpenSSH ed25519 private key "
                         "(ssh-keygen -t ed25519 -N '')")
    try:
        key = serialization.load_ssh_private_key(private.encode(), password=None)
    except TypeError:
        raise ValueError("host_key_private is encrypted: cloud-init needs it without a "
                         "passphrase") from None
    except ValueError:
        raise ValueError("host_key_private is not an OpenSSH-format private key (-----BEGIN "
                         "OPENSSH PRIVATE KEY-----)") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError("host_key_private is not an ed25519 key: the seed pins an ed25519 host "
                         "key (ssh-keygen -t ed25519)")
    key_type, blob, public = _key_blob("host_key_public", public)
    derived = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH).split()
    if key_type != "ssh-ed25519" or base64.b64decode(derived[1]) != blob:
        raise ValueError("host_key_public is not the public half of host_key_private")
    return private + "\n", public


def user_data(*, user, authorized_key, host_key_private, host_key_public):
    """The #cloud-config document, as text."""
    private, public = check_host_key(host_key_private, host_key_public)
    config = {
        "users": [{
            "name": check_user(user),
            "lock_passwd": True,
            "shell": "/bin/bash",
            "sudo": SUDO_RULE,
            "ssh_authorized_keys": [check_authorized_key(authorized_key)],
        }],
        "disable_root": True,
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": private, "ed25519_public": public},
        # The host name resolves locally, so that sudo does not stop to look it up.
        "manage_etc_hosts": True,
    }
    return "#cloud-config\n" + _dump(config)


def meta_data(*, instance_id, hostname):
    config = {"instance-id": check_instance_id(instance_id),
              "local-hostname": check_hostname(hostname)}
    return _dump(config)


def seed_iso(path, *, instance_id, hostname, user, authorized_key, host_key_private,
             host_key_public):
    """Write the NoCloud seed ISO to path (atomically: a finished file or none). Returns path."""
    path = Path(path)
    files = {
        "user-data": user_data(user=user, authorized_key=authorized_key,
                               host_key_private=host_key_private,
                               host_key_public=host_key_public),
        "meta-data": meta_data(instance_id=instance_id, hostname=hostname),
    }
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=VOLUME_ID, joliet=3, rock_ridge="1.09")
    try:
        for name, text in files.items():
            data = text.encode()
            # ISO 9660 names are upper case without '-': readers use the Joliet or Rock Ridge
            # name, which is the real one.
            iso.add_fp(io.BytesIO(data), len(data), iso_path=f"/{name.upper().replace('-', '_')};1",
                       rr_name=name, joliet_path=f"/{name}", file_mode=0o100444)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                iso.write_fp(out)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    finally:
        iso.close()
    return path
