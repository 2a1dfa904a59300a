"""What a submitter sees of its dossier: a documented view of the one-stop states.

| submitter status        | one-stop states                          |
|-------------------------|------------------------------------------|
| ``refused``             | none: the submission never became a dossier (bad signature, schema…) |
| ``waiting``             | received, transferred (chờ tiếp nhận xử lý) |
| ``processing``          | processing, supplement (đang xử lý)       |
| ``result_ready``        | result ready, returned (đã có kết quả)    |
| ``rejected``            | rejected (từ chối)                        |
| ``withdrawn``           | withdrawn (rút hồ sơ)                     |
"""

from __future__ import annotations

from ansinh.gateway.models import Submission, Verdict
from ansinh.onestop.models import DossierState

S = DossierState

VIEW: dict[str, str] = {
    S.RECEIVED: "waiting",
    S.TRANSFERRED: "waiting",
    S.PROCESSING: "processing",
    S.SUPPLEMENT: "processing",
    S.RESULT_READY: "result_ready",
    S.RETURNED: "result_ready",
    S.REJECTED: "rejected",
    S.WITHDRAWN: "withdrawn",
}

#: Vietnamese labels, as the VSS portal words them.
LABELS_VI = {
    "refused": "Không tiếp nhận",
    "waiting": "Chờ tiếp nhận",
    "processing": "Đang xử lý",
    "result_ready": "Đã có kết quả",
    "rejected": "Từ chối",
    "withdrawn": "Đã rút",
}


def submitter_status(submission: Submission) -> str:
    if submission.verdict == Verdict.REFUSED or submission.dossier_id is None:
        return "refused"
    return VIEW[submission.dossier.state]
