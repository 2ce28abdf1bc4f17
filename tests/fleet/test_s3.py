"""The lake on S3: a moto server on 127.0.0.1 (its port picked by the kernel, started here and
waited for until it answers), and the same seal, report and verify through s3://bucket/prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fleet.conftest import HOSTS, SAID, Fleet, load
from tests.fleet.fleet_world import POLICY

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # returns once the server accepts connections
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    client.create_bucket(Bucket="evidence")
    yield env
    server.stop()


def test_seal_report_and_verify_through_s3(fleet: Fleet, s3: dict[str, str]) -> None:
    lake = "s3://evidence/fleet"
    for host in HOSTS:
        fleet.seal(lake, host, env=s3)
    again = fleet.seal(lake, HOSTS[0], env=s3)
    assert again.count("already sealed, unchanged") == 2
    client = boto3.client("s3", endpoint_url=s3["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="evidence")["Contents"])
    assert len(keys) == 12
    assert "fleet/flows/date=2026-03-02/host=web-1/part-00000.parquet" in keys
    assert "fleet/manifests/date=2026-03-03/host=web-3/manifest.json" in keys
    out = fleet.root / "s3.json"
    auditor = fleet.root / "auditor"
    assert fleet.run("keys", "generate", str(auditor))[0] == 0
    code, said, err = fleet.report(lake, out, "--sign", str(auditor), env=s3)
    assert code == 0, err
    assert said.endswith(SAID)
    assert load(out)["coverage"]["not_counted"] == []
    code, said, err = fleet.run("fleet", "verify", str(out), "--key", f"{auditor}.pub", "--lake",
                                lake, "--policy", str(POLICY), "--host-keys", str(fleet.keys),
                                env=s3)  # fmt: skip
    assert code == 0, err
    client.delete_object(Bucket="evidence", Key="fleet/manifests/date=2026-03-03/host=web-3/"
                         "manifest.json")  # fmt: skip
    code, _, err = fleet.run("fleet", "verify", str(out), "--key", f"{auditor}.pub", "--lake",
                             lake, "--policy", str(POLICY), "--host-keys", str(fleet.keys),
                             env=s3)  # fmt: skip
    assert code == 10 and "the re-run differs at breakdown[0].bytes" in err
