#!/usr/bin/env python3
"""Independent DSSE / in-toto oracle for buildledger-provenance tests.

Uses securesystemslib (DSSE envelope, CryptoSigner, SSlibKey) and
in-toto-attestation (Statement v1, ResourceDescriptor, SLSA provenance v1
protobuf schema). Nothing here imports or mirrors the Rust code.

Subcommands:
  sign ALG OUTDIR BUILDER_ID
      ALG is ed25519 or ecdsa-p256. Generates a key pair, builds an in-toto
      Statement v1 with a SLSA provenance v1 predicate, signs a DSSE envelope
      and writes OUTDIR/{envelope.json,public.pem,private.pem,expected.json}.
      expected.json holds the random subject digests and commit it chose.
  verify ENVELOPE PUBLIC_PEM KEYID
      Verifies ENVELOPE with the key (given the envelope's keyid, which
      securesystemslib requires to match), validates the statement with
      in-toto-attestation and, for SLSA v1 predicates, parses the predicate
      strictly against the provenance v1 protobuf schema (unknown field
      names fail). Prints a JSON report; exit 0 if all passed, 1 if not.
  pae PAYLOAD_TYPE PAYLOAD_HEX
      Prints securesystemslib's DSSE PAE of the inputs, hex encoded.
"""

import json
import os
import secrets
import sys

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from google.protobuf import json_format
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2

PAYLOAD_TYPE = "application/vnd.in-toto+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"


def cmd_sign(alg, outdir, builder_id):
    if alg == "ed25519":
        signer = CryptoSigner.generate_ed25519()
    elif alg == "ecdsa-p256":
        signer = CryptoSigner.generate_ecdsa(scheme="ecdsa-sha2-nistp256")
    else:
        raise SystemExit(f"unknown algorithm {alg}")

    image_digest = secrets.token_hex(32)
    second_digest = secrets.token_hex(32)
    commit = secrets.token_hex(20)
    subjects = [
        ResourceDescriptor(name="registry.example/team/app", digest={"sha256": image_digest}).pb,
        ResourceDescriptor(name="registry.example/team/app-debug", digest={"sha256": second_digest}).pb,
    ]
    predicate = {
        "buildDefinition": {
            "buildType": "https://sslib-oracle.example/build@v1",
            "externalParameters": {"source": "git+https://git.example/team/app@refs/tags/v1"},
            "resolvedDependencies": [
                {
                    "uri": "git+https://git.example/team/app@refs/tags/v1",
                    "digest": {"gitCommit": commit},
                }
            ],
        },
        "runDetails": {
            "builder": {"id": builder_id, "version": {"oracle": "1"}},
            "metadata": {
                "invocationId": "job-42",
                "startedOn": "2025-01-02T03:04:05Z",
                "finishedOn": "2025-01-02T03:14:05Z",
            },
        },
    }
    # The schema check the oracle applies to our predicates, applied to its own.
    json_format.ParseDict(predicate, provenance_pb2.Provenance())
    stmt = Statement(subjects, SLSA_V1, predicate)
    stmt.validate()
    payload = json.dumps(json_format.MessageToDict(stmt.pb)).encode()

    env = Envelope(payload, PAYLOAD_TYPE, {})
    env.sign(signer)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "envelope.json"), "w") as f:
        json.dump(env.to_dict(), f)
    pub = signer.public_key._crypto_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    with open(os.path.join(outdir, "public.pem"), "wb") as f:
        f.write(pub)
    with open(os.path.join(outdir, "private.pem"), "wb") as f:
        f.write(signer.private_bytes)
    with open(os.path.join(outdir, "expected.json"), "w") as f:
        json.dump(
            {
                "subjects": {
                    "registry.example/team/app": image_digest,
                    "registry.example/team/app-debug": second_digest,
                },
                "commit": commit,
                "builder_id": builder_id,
                "sslib_keyid": signer.public_key.keyid,
            },
            f,
        )


def cmd_verify(envelope_path, pem_path, keyid):
    report = {"verified": False, "statement_valid": False, "predicate_valid": None}
    with open(envelope_path) as f:
        env = Envelope.from_dict(json.load(f))
    with open(pem_path, "rb") as f:
        crypto_key = load_pem_public_key(f.read())
    key = SSlibKey.from_crypto(crypto_key, keyid=keyid)
    try:
        env.verify([key], 1)
        report["verified"] = True
    except Exception as e:  # VerificationError and friends
        report["verify_error"] = repr(e)

    try:
        stmt_dict = json.loads(env.payload)
        pb = json_format.ParseDict(stmt_dict, statement_pb2.Statement())
        Statement.copy_from_pb(pb).validate()
        report["statement_valid"] = True
        report["predicate_type"] = pb.predicate_type
        report["subjects"] = {s.name: dict(s.digest) for s in pb.subject}
        if pb.predicate_type == SLSA_V1:
            prov = json_format.ParseDict(stmt_dict["predicate"], provenance_pb2.Provenance())
            report["predicate_valid"] = True
            report["builder_id"] = prov.run_details.builder.id
            report["resolved_uris"] = [d.uri for d in prov.build_definition.resolved_dependencies]
            report["git_commits"] = [
                d.digest["gitCommit"]
                for d in prov.build_definition.resolved_dependencies
                if "gitCommit" in d.digest
            ]
            report["builder_dependency_uris"] = [
                d.uri for d in prov.run_details.builder.builder_dependencies
            ]
            report["invocation_id"] = prov.run_details.metadata.invocation_id
            report["started_on"] = prov.run_details.metadata.started_on.ToJsonString()
    except Exception as e:
        report["statement_error"] = repr(e)
        if report["predicate_valid"] is None and report["statement_valid"]:
            report["predicate_valid"] = False

    print(json.dumps(report))
    ok = report["verified"] and report["statement_valid"] and report["predicate_valid"] is not False
    sys.exit(0 if ok else 1)


def cmd_pae(payload_type, payload_hex):
    env = Envelope(bytes.fromhex(payload_hex), payload_type, {})
    print(env.pae().hex())


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sign" and len(args) == 3:
        cmd_sign(*args)
    elif cmd == "verify" and len(args) == 3:
        cmd_verify(*args)
    elif cmd == "pae" and len(args) == 2:
        cmd_pae(*args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
