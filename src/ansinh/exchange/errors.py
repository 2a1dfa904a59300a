"""The exchange layer's refusals, each with a machine-readable code and a status; answered as
``{code, field, message_vi, message_en}`` with the code repeated in ``X-Road-Error``."""

from __future__ import annotations

from ansinh.core.errors import DomainError


def wrong_provider(service_id: str) -> DomainError:
    return DomainError(
        "unknown_provider",
        "service",
        f"Dịch vụ {service_id[:200]} không thuộc hệ thống này.",
        f"Service {service_id[:200]} is not provided by this member.",
        status=404,
    )


def bad_path() -> DomainError:
    return DomainError(
        "service_path_invalid",
        "service",
        "Đường dẫn phải có dạng /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE.",
        "The path must be /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE.",
        status=400,
    )


def client_missing() -> DomainError:
    return DomainError(
        "client_missing",
        "X-Road-Client",
        "Thiếu tiêu đề X-Road-Client (định danh bên gọi).",
        "The X-Road-Client header (the caller's id) is missing.",
        status=400,
    )


def message_id_missing() -> DomainError:
    return DomainError(
        "message_id_missing",
        "X-Road-Id",
        "Thiếu hoặc sai tiêu đề X-Road-Id (mã thông điệp, tối đa 100 ký tự in được).",
        "The X-Road-Id header (message id, up to 100 printable characters) is missing or invalid.",
        status=400,
    )


def unknown_peer(client: str) -> DomainError:
    return DomainError(
        "unknown_peer",
        "X-Road-Client",
        f"Bên gọi {client[:200]} chưa được đăng ký hoặc đã bị khóa.",
        f"The caller {client[:200]} is not a registered, active peer.",
        status=403,
    )


def replayed() -> DomainError:
    return DomainError(
        "replayed_message",
        "signature",
        "Thông điệp đã được nhận (chữ ký dùng lại): bị từ chối.",
        "This signed message was already received (replay): refused.",
        status=401,
    )


def unknown_service(code: str) -> DomainError:
    return DomainError(
        "unknown_service",
        "service",
        f"Không có dịch vụ {code[:80]}.",
        f"There is no service {code[:80]}.",
        status=404,
    )


def method_not_allowed(method: str, code: str) -> DomainError:
    return DomainError(
        "method_not_allowed",
        "method",
        f"Dịch vụ {code[:80]} không nhận phương thức {method[:10]}.",
        f"Service {code[:80]} does not accept {method[:10]}.",
        status=405,
    )


def not_granted(client: str, code: str) -> DomainError:
    return DomainError(
        "service_not_granted",
        "service",
        f"Bên gọi {client[:200]} không được cấp quyền dùng dịch vụ {code[:80]}.",
        f"The caller {client[:200]} is not granted service {code[:80]}.",
        status=403,
    )


def conflict(message_id: str) -> DomainError:
    return DomainError(
        "message_id_conflict",
        "X-Road-Id",
        f"Mã thông điệp {message_id[:100]} đã dùng cho một nội dung khác.",
        f"Message id {message_id[:100]} was already used with a different body.",
        status=409,
    )


def too_large(limit: int) -> DomainError:
    return DomainError(
        "body_too_large",
        "body",
        f"Nội dung vượt quá {limit} byte.",
        f"The body exceeds {limit} bytes.",
        status=413,
    )


def handler_failed() -> DomainError:
    return DomainError(
        "service_failed",
        None,
        "Dịch vụ gặp lỗi khi xử lý; có thể gửi lại với cùng mã thông điệp.",
        "The service failed; the message may be sent again with the same id.",
        status=500,
    )


def peer_down(detail: str) -> DomainError:
    return DomainError(
        "peer_down",
        None,
        f"Không kết nối được với bên nhận ({detail[:100]}); thông điệp được giữ để gửi lại.",
        f"The peer cannot be reached ({detail[:100]}); the message is kept for retry.",
        status=503,
    )


def unsigned_response() -> DomainError:
    return DomainError(
        "response_unsigned",
        "signature",
        "Câu trả lời của bên nhận không có chữ ký hợp lệ.",
        "The peer's answer carries no valid signature.",
        status=502,
    )
