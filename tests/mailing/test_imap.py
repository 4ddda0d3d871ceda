"""The IMAP client of the mailbox reader against a real Dovecot (#19): TLS both ways, folder
names in modified UTF-7, moving without deleting, French reasons for every failure."""

from __future__ import annotations

import pytest

from maillage.mailing.imap import MailboxUnreachable, encode_folder, open_session, parse_imap_url
from tests.mailing.imap_server import PASSWORD, ImapServer

MESSAGE = (
    b"From: Marc Durand <marc.durand@mairie.example>\r\n"
    b"To: ctg@maillage.example\r\n"
    b"Subject: Bonjour\r\n"
    b"Message-ID: <bonjour@mairie.example>\r\n"
    b"\r\n"
    b"Un message ordinaire.\r\n"
)


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("INBOX", "INBOX"),
        ("maillage/traités", "maillage/trait&AOk-s"),
        ("maillage/à examiner", "maillage/&AOA- examiner"),
        ("Entwürfe & Co", "Entw&APw-rfe &- Co"),
        ("日本語", "&ZeVnLIqe-"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501's example
    ],
)
def test_it_writes_folder_names_in_modified_utf7(name, encoded):
    assert encode_folder(name) == encoded


def test_it_reads_the_address():
    config = parse_imap_url("imaps://ctg%40epci.fr:p%40ss@imap.epci.fr/Bo%C3%AEte")
    assert (config.host, config.port, config.implicit_tls, config.starttls) == (
        "imap.epci.fr",
        993,
        True,
        False,
    )
    assert (config.username, config.password, config.folder) == ("ctg@epci.fr", "p@ss", "Boîte")
    plain = parse_imap_url("imap://ctg:x@imap.epci.fr", token_command="jeton")
    assert (plain.port, plain.starttls, plain.folder, plain.token_command) == (
        143,
        True,
        "INBOX",
        None,
    )
    oauth = parse_imap_url("imaps://ctg@outlook.office365.com/INBOX", token_command="jeton")
    assert oauth.token_command == "jeton" and oauth.password is None


@pytest.mark.parametrize("tls", ["starttls", "implicit", "none"])
async def test_it_signs_in_and_moves_a_message_into_a_new_folder(imap_server: ImapServer, tls):
    session = await open_session(parse_imap_url(imap_server.url(tls=tls)))
    try:
        await session.append(MESSAGE)
        sizes = await session.sizes()
        assert list(sizes.values()) == [len(MESSAGE)]
        uid = next(iter(sizes))
        assert await session.fetch(uid) == MESSAGE
        path = await session.folder_path("maillage", "traités")
        await session.move(uid, path)
        assert await session.sizes() == {}
    finally:
        await session.close()
    moved = await open_session(parse_imap_url(imap_server.url("maillage/traités", tls=tls)))
    try:
        assert list((await moved.sizes()).values()) == [len(MESSAGE)]
    finally:
        await moved.close()


async def test_it_moves_with_copy_where_move_is_missing(imap_server: ImapServer):
    session = await open_session(parse_imap_url(imap_server.url()))
    try:
        await session.append(MESSAGE)
        session.client.protocol.capabilities.discard("MOVE")
        uid = next(iter(await session.sizes()))
        await session.move(uid, await session.folder_path("maillage", "à examiner"))
        assert await session.sizes() == {}
    finally:
        await session.close()
    moved = await open_session(parse_imap_url(imap_server.url("maillage/à examiner")))
    try:
        assert len(await moved.sizes()) == 1
    finally:
        await moved.close()


@pytest.mark.slow
async def test_a_wrong_password_is_reported_without_the_password(imap_server: ImapServer):
    url = imap_server.url().replace("mot%20de%20passe", "mauvais")
    with pytest.raises(MailboxUnreachable) as error:
        await open_session(parse_imap_url(url))
    assert str(error.value).startswith("Identification refusée par 127.0.0.1:")
    assert "mauvais" not in str(error.value) and PASSWORD not in str(error.value)


async def test_an_untrusted_certificate_is_refused(imap_server: ImapServer):
    url = imap_server.url(tls="implicit").split("?")[0]
    with pytest.raises(MailboxUnreachable) as error:
        await open_session(parse_imap_url(url + "?timeout=5"))
    assert str(error.value).startswith("Connexion chiffrée à 127.0.0.1:")


async def test_an_unreachable_server_is_named():
    from tests.mailing.conftest import free_port

    port = free_port()
    with pytest.raises(MailboxUnreachable) as error:
        await open_session(parse_imap_url(f"imap://ctg:x@127.0.0.1:{port}/INBOX?timeout=2"))
    assert str(error.value).startswith(f"Serveur IMAP 127.0.0.1:{port} injoignable")


@pytest.mark.slow
async def test_thousands_of_messages_are_listed_in_batches(imap_server: ImapServer):
    """1,200 messages in the folder: aioimaplib reads the lines of one response recursively,
    and a single « UID FETCH 1:* » overflowed Python's stack past about a thousand."""
    session = await open_session(parse_imap_url(imap_server.url(tls="none")))
    try:
        for n in range(1200):
            await session.append(MESSAGE.replace(b"<bonjour@", f"<bonjour{n}@".encode()))
        uids = await session.uids()
        assert len(uids) == 1200
        sizes = await session.sizes()
        assert len(sizes) == 1200 and set(sizes.values()) <= {
            len(MESSAGE) + d for d in (1, 2, 3, 4)
        }
    finally:
        await session.close()
