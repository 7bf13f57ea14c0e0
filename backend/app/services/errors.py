"""Errors of the app's own rules (limits, quotas, conflicts); each carries its HTTP status and code."""

from __future__ import annotations

from app.core.errors import AppError


class RateLimited(AppError):
    """Too many requests in the window of a `limits` rate limit (chat, login)."""

    code = "rate_limited"
    status_code = 429
    default_message = "Too many requests. Please wait a moment and try again."
    default_retry_after = 60.0


class DailyQuotaExceeded(AppError):
    code = "daily_quota"
    status_code = 429
    default_message = "You reached your daily limit of messages. It resets at midnight (UTC)."


class TokenQuotaExceeded(AppError):
    code = "token_quota"
    status_code = 429
    default_message = "You reached your token limit. Please wait until it resets."


class ServerStopping(AppError):
    code = "server_stopping"
    status_code = 503
    default_message = "The server is restarting. Please try again in a moment."
    default_retry_after = 5.0


class NothingToRegenerate(AppError):
    code = "nothing_to_regenerate"
    status_code = 409
    default_message = "There is no message to answer in this conversation."


class EmailTaken(AppError):
    code = "email_taken"
    status_code = 409
    default_message = "An account with this email already exists."


class SignupClosed(AppError):
    code = "signup_closed"
    status_code = 403
    default_message = "Sign-up is disabled on this server. Ask the administrator for an account."


class TooManyReplies(AppError):
    """MAX_JOBS_PER_USER replies are being generated for this user already."""

    code = "too_many_replies"
    status_code = 429
    default_message = "You already have several replies being written. Wait for one to finish, or stop one."
    default_retry_after = 5.0


class ReplyInProgress(AppError):
    code = "reply_in_progress"
    status_code = 409
    default_message = "A reply is still being written in this conversation. Wait for it or stop it first."


class ReplyStopped(AppError):
    code = "stopped"
    status_code = 409
    default_message = "The reply was stopped."
