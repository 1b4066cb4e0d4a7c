"""The peer for `cargo xtask bench`'s blob rows: Microsoft's Python storage SDK
(azure-storage-blob, as azure-ai-ml installs it) with its defaults, on the same Azurite.

  bench_blob.py create CONN CONTAINER
  bench_blob.py sas CONN CONTAINER            -> a container SAS (create, write) for curl
  bench_blob.py upload CONN CONTAINER PATH PREFIX
      a file: one upload_blob(overwrite=True) with default settings;
      a folder: upload_blob for each file, one by one (how a script that loops does it)."""

import datetime
import os
import sys

from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas


def main(argv):
    command, conn, container = argv[1], argv[2], argv[3]
    service = BlobServiceClient.from_connection_string(conn)
    client = service.get_container_client(container)
    if command == "create":
        if not client.exists():
            client.create_container()
    elif command == "sas":
        print(generate_container_sas(
            service.account_name, container, account_key=service.credential.account_key,
            permission=ContainerSasPermissions(create=True, write=True),
            expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)))
    elif command == "upload":
        path, prefix = argv[4], argv[5]
        if os.path.isfile(path):
            with open(path, "rb") as data:
                client.upload_blob(prefix + os.path.basename(path), data, overwrite=True)
        else:
            for root, _, names in os.walk(path):
                for name in names:
                    full = os.path.join(root, name)
                    with open(full, "rb") as data:
                        client.upload_blob(prefix + os.path.relpath(full, path), data, overwrite=True)
    else:
        raise SystemExit(f"unknown command {command}")


main(sys.argv)
