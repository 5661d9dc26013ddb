"""Monogram's one error tree.

Every error a user can cause or meet is a ``MonogramError``; each subclass knows the HTTP
status the API answers with, so edges translate errors without knowing their details::

    MonogramError (500)
    ├── ConfigError (500)          settings or project files are invalid
    ├── ValidationError (400)      input is malformed; ``errors`` names each field and reason
    │   └── PayloadTooLarge (400)  an event or batch is over its size limit (Segment answers 400)
    ├── AuthError (401)            missing or unknown API key
    ├── ScopeError (403)           the key lacks the scope the endpoint needs
    ├── NotFound (404)             no profile, product, segment, merge... with that id
    ├── ConflictError (409)        the request contradicts stored state
    ├── ConsentError (403)         the purpose is not allowed for this customer
    └── ModelError (502)           the language model failed (error, timeout, bad output)
        └── ModelUnavailable (503) the circuit breaker is open: the model is not being called
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One reason an input was refused: the dotted path of the field and why."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class MonogramError(Exception):
    """Base of every error Monogram raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        # "code" and "message" are what Segment-style SDKs read from an error response.
        return {"success": False, "code": self.code, "message": self.message}


class ConfigError(MonogramError):
    status_code = 500
    code = "config_error"


class ValidationError(MonogramError):
    status_code = 400
    code = "invalid_request"

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        if errors and message.endswith(":"):
            message = f"{message} " + "; ".join(str(e) for e in errors)
        super().__init__(message)
        self.errors = list(errors or [])

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["errors"] = [e.as_dict() for e in self.errors]
        return body


class PayloadTooLarge(ValidationError):
    status_code = 400
    code = "payload_too_large"


class AuthError(MonogramError):
    status_code = 401
    code = "unauthorized"


class ScopeError(MonogramError):
    status_code = 403
    code = "forbidden"


class NotFound(MonogramError):
    status_code = 404
    code = "not_found"


class ConflictError(MonogramError):
    status_code = 409
    code = "conflict"


class RateLimited(MonogramError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConsentError(MonogramError):
    status_code = 403
    code = "no_consent"


class ModelError(MonogramError):
    status_code = 502
    code = "model_error"


class ModelUnavailable(ModelError):
    status_code = 503
    code = "model_unavailable"
