"""The NoCloud seed ISO: what cloud-init reads back from it, and the input it refuses."""

import io
import shutil
import subprocess

import pycdlib
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.vm.cloudinit import (
    HOST_LABEL_RE,
    INSTANCE_ID_RE,
    SUDO_RULE,
    USER_RE,
    meta_data,
    seed_iso,
    user_data,
)


def openssh_pair(key, password=None):
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                encryption).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public


HOST_PRIVATE, HOST_PUBLIC = openssh_pair(ed25519.Ed25519PrivateKey.generate())
CLIENT_PUBLIC = openssh_pair(ed25519.Ed25519PrivateKey.generate())[1] + " vmiso-client"
KEYS = {"authorized_key": CLIENT_PUBLIC, "host_key_private": HOST_PRIVATE,
        "host_key_public": HOST_PUBLIC}
SEED = {"instance_id": "vmiso-0001", "hostname": "vmiso-guest", "user": "debian", **KEYS}


def read_back(path):
    """{name: text} of the seed's files by their Joliet and their Rock Ridge names (which must
    agree), and the primary and Joliet volume identifiers."""
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        files = {}
        for name in ("user-data", "meta-data"):
            by_joliet, by_rr = io.BytesIO(), io.BytesIO()
            iso.get_file_from_iso_fp(by_joliet, joliet_path=f"/{name}")
            iso.get_file_from_iso_fp(by_rr, rr_path=f"/{name}")
            assert by_joliet.getvalue() == by_rr.getvalue()
            files[name] = by_rr.getvalue().decode()
        joliet_names = sorted(child.file_identifier().decode("utf-16-be")
                              for child in iso.list_children(joliet_path="/")
                              if not (child.is_dot() or child.is_dotdot()))
        volume = iso.pvd.volume_identifier.decode().strip()
        joliet_volume = iso.joliet_vd.volume_identifier.decode("utf-16-be").strip()
    finally:
        iso.close()
    return files, joliet_names, volume, joliet_volume


def test_seed_iso_reads_back(tmp_path):
    path = seed_iso(tmp_path / "seed.iso", **SEED)
    files, names, volume, joliet_volume = read_back(path)
    assert (volume, joliet_volume) == ("cidata", "cidata")
    assert names == ["meta-data", "user-data"]
    assert files["user-data"].startswith("#cloud-config\n")
    config = yaml.safe_load(files["user-data"])
    assert config["users"] == [{"name": "debian", "lock_passwd": True, "shell": "/bin/bash",
                                "sudo": SUDO_RULE, "ssh_authorized_keys": [CLIENT_PUBLIC]}]
    assert "ssh_authorized_keys" not in config  # it would reach root's authorized_keys too
    assert config["ssh_keys"] == {"ed25519_private": HOST_PRIVATE,
                                  "ed25519_public": HOST_PUBLIC}
    assert config["ssh_genkeytypes"] == [] and config["ssh_deletekeys"] is True
    assert config["disable_root"] is True and config["ssh_pwauth"] is False
    assert yaml.safe_load(files["meta-data"]) == {"instance-id": "vmiso-0001",
                                                  "local-hostname": "vmiso-guest"}
    assert [p.name for p in tmp_path.iterdir()] == ["seed.iso"]


@pytest.mark.skipif(shutil.which("blkid") is None, reason="blkid (util-linux) is not installed")
def test_blkid_sees_the_cidata_label(tmp_path):
    """cloud-init's ds-identify finds the seed through blkid's label."""
    path = seed_iso(tmp_path / "seed.iso", **SEED)
    out = subprocess.run(["blkid", "-o", "export", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert "LABEL=cidata" in out.splitlines() and "TYPE=iso9660" in out.splitlines()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")
def test_keys_made_by_ssh_keygen(tmp_path):
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                        str(tmp_path / name)], check=True)
    host_private = (tmp_path / "host").read_text()
    host_public = (tmp_path / "host.pub").read_text()
    client_public = (tmp_path / "client.pub").read_text()
    text = user_data(user="debian", authorized_key=client_public, host_key_private=host_private,
                     host_key_public=host_public)
    config = yaml.safe_load(text)
    assert config["ssh_keys"]["ed25519_private"] == host_private
    assert config["ssh_keys"]["ed25519_public"] == host_public.strip()
    assert config["users"][0]["ssh_authorized_keys"] == [client_public.strip()]


users = st.from_regex(USER_RE, fullmatch=True).filter(lambda u: u != "root")
labels = st.from_regex(HOST_LABEL_RE, fullmatch=True)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join).filter(lambda h: len(h) <= 253)
instance_ids = st.from_regex(INSTANCE_ID_RE, fullmatch=True)
comments = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=30)


@settings(max_examples=200, deadline=None)
@given(users, hostnames, instance_ids, comments)
def test_yaml_round_trips(user, hostname, instance_id, comment):
    """Whatever valid names come in (YAML's booleans, numbers, nulls and '-' included), the
    documents parse back to exactly them."""
    key = f"{CLIENT_PUBLIC.rsplit(' ', 1)[0]} {comment}".strip()
    config = yaml.safe_load(user_data(user=user, authorized_key=key, **{
        k: v for k, v in KEYS.items() if k != "authorized_key"}))
    assert config["users"][0]["name"] == user
    assert config["users"][0]["ssh_authorized_keys"] == [key]
    assert yaml.safe_load(meta_data(instance_id=instance_id, hostname=hostname)) == {
        "instance-id": instance_id, "local-hostname": hostname}


def test_seed_iso_round_trips_awkward_names(tmp_path):
    """Names YAML would otherwise read as something else survive the ISO too."""
    path = seed_iso(tmp_path / "seed.iso", **{**SEED, "user": "yes", "hostname": "1e3",
                                              "instance_id": "0x1F"})
    files = read_back(path)[0]
    assert yaml.safe_load(files["user-data"])["users"][0]["name"] == "yes"
    assert yaml.safe_load(files["meta-data"]) == {"instance-id": "0x1F", "local-hostname": "1e3"}


RSA_PRIVATE, RSA_PUBLIC = openssh_pair(rsa.generate_private_key(public_exponent=65537,
                                                                 key_size=2048))
ENCRYPTED_PRIVATE = openssh_pair(ed25519.Ed25519PrivateKey.generate(), b"secret")[0]
OTHER_PUBLIC = openssh_pair(ed25519.Ed25519PrivateKey.generate())[1]


@pytest.mark.parametrize("change, says", [
    ({"user": "Debian"}, "not a valid Linux user name"),
    ({"user": "1debian"}, "not a valid Linux user name"),
    ({"user": "deb ian"}, "not a valid Linux user name"),
    ({"user": "debian\nroot"}, "not a valid Linux user name"),
    ({"user": ""}, "not a valid Linux user name"),
    ({"user": "a" * 33}, "not a valid Linux user name"),
    ({"user": "root"}, "disables root logins"),
    ({"user": None}, "must be a string"),
    ({"authorized_key": ""}, "authorized_key is empty"),
    ({"authorized_key": "   \n"}, "authorized_key is empty"),
    ({"authorized_key": "not a key"}, "not an OpenSSH public key line"),
    ({"authorized_key": "ssh-ed25519 !!!!"}, "not valid base64"),
    ({"authorized_key": "ssh-rsa " + CLIENT_PUBLIC.split()[1]}, "not a ssh-rsa key"),
    ({"authorized_key": CLIENT_PUBLIC + "\n" + OTHER_PUBLIC}, "single line"),
    ({"host_key_private": ""}, "host_key_private is empty"),
    ({"host_key_private": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"}, "not an OpenSSH"),
    ({"host_key_private": ENCRYPTED_PRIVATE}, "encrypted"),
    ({"host_key_private": RSA_PRIVATE, "host_key_public": RSA_PUBLIC}, "not an ed25519 key"),
    ({"host_key_public": OTHER_PUBLIC}, "not the public half"),
    ({"host_key_public": ""}, "host_key_public is empty"),
    ({"hostname": "bad_host"}, "not a valid host name"),
    ({"hostname": "-lead"}, "not a valid host name"),
    ({"hostname": "a..b"}, "not a valid host name"),
    ({"instance_id": "../etc"}, "instance_id '../etc' is not valid"),
    ({"instance_id": ""}, "is not valid"),
])
def test_bad_input_is_refused_in_one_line(tmp_path, change, says):
    with pytest.raises(ValueError) as err:
        seed_iso(tmp_path / "seed.iso", **{**SEED, **change})
    assert says in str(err.value)
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []
