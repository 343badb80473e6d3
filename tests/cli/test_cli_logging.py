"""``--debug`` logging: a private file, redacted secrets, quiet HTTP loggers."""

from __future__ import annotations

import logging
import stat

from tui import files, logsetup


def test_debug_log_is_private_and_redacted(config_dir):
    path = logsetup.configure(True, secrets=["hunter2-password"])
    assert path == files.log_file()
    log = logging.getLogger("imshare.test")
    token = "gAAAAABl" + "x7Yq" * 40
    log.debug("X-Auth-Token: %s", token)
    log.debug("headers {'X-Subject-Token': '%s'}", token)
    log.debug("cached token=%s for alice", "MIIZ" + "a1b2c3d4" * 4)
    log.info("login with password hunter2-password failed")
    log.warning("bare blob %s here", "Zm9v" * 30)
    log.debug("token_requests=3 image 6ac6ebc1-0e6f-4b8a-8cb5-31a5e18b5d3d ok")
    try:
        raise RuntimeError(f"boom with {token}")
    except RuntimeError:
        log.exception("failed")
    for handler in logging.getLogger("imshare").handlers:
        handler.flush()
    text = path.read_text()
    assert token not in text and "x7Yqx7Yq" not in text
    assert "hunter2-password" not in text
    assert "a1b2c3d4a1b2" not in text
    assert "Zm9vZm9v" not in text
    assert "X-Auth-Token: ***" in text
    assert "boom with" in text  # the exception is logged, its secret is not
    # Ordinary ids and counters survive redaction.
    assert "token_requests=3" in text
    assert "6ac6ebc1-0e6f-4b8a-8cb5-31a5e18b5d3d" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_without_debug_only_warnings_reach_stderr(config_dir, capsys):
    assert logsetup.configure(False) is None
    log = logging.getLogger("imshare.test")
    log.info("chatty detail")
    log.warning("token cache is corrupt; X-Auth-Token: abcdefabcdefabcdef")
    err = capsys.readouterr().err
    assert "chatty detail" not in err
    assert "imshare: token cache is corrupt" in err
    assert "abcdefabcdefabcdef" not in err
    assert not files.log_file().exists()


def test_http_loggers_are_quiet(config_dir):
    logsetup.configure(True)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


def test_app_mode_writes_nothing_to_stderr(config_dir, capsys):
    logsetup.configure(False, stderr=False)
    logging.getLogger("imshare.test").error("would scribble over the screen")
    assert capsys.readouterr().err == ""


def test_redact_leaves_plain_text_alone():
    text = "listing pending images: 404 Not Found — refresh the list"
    assert logsetup.redact(text) == text


def test_paths_survive_and_base64_tokens_do_not():
    path = "/image/v2/images/acc66a57-6518-493d-87db-f924a6048457/members/cd447e35b8b6d8fe442e3d43"
    assert logsetup.redact(f"PUT {path} 200 5ms") == f"PUT {path} 200 5ms"
    pki = "MIIZ" + "ab+c/Def0123456789" * 20
    assert pki not in logsetup.redact(f"header {pki} end")
    fernet = "gAAAAAB" + "kQ3_x-9" * 20
    assert fernet not in logsetup.redact(f"value {fernet}")
