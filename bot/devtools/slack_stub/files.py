"""Files in the Slack stub: files.getUploadURLExternal, the upload URL, and
files.completeUploadExternal sharing what was uploaded."""

from __future__ import annotations

import json
from typing import Any

from bot.devtools.slack_stub.http import Answer, multipart_fields
from bot.devtools.slack_stub.records import SharedFile
from bot.devtools.slack_stub.state import StubState


def uploaded_bytes(body: bytes, content_type: str) -> bytes:
    """The upload URL takes raw bytes (what slack_sdk sends) or a multipart file part."""
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    files = [value for value in multipart_fields(body, content_type).values() if isinstance(value, bytes)]
    if not files:
        raise ValueError("multipart upload has no file part")
    return files[0]


class FileMethods(StubState):
    """The external upload flow, and what a test asks about uploaded and shared files."""

    @property
    def uploads(self) -> dict[str, bytes]:
        with self._cond:
            return dict(self._uploads)

    def shared_files(self) -> list[SharedFile]:
        with self._cond:
            return list(self._shared_files)

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = self._next_id("F")
        with self._cond:
            self._upload_names[file_id] = str(args["filename"])
        return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(args["files"]) if isinstance(args["files"], str) else args["files"]
        channel_id = args.get("channel_id")
        if channel_id and not self.bot_is_member(str(channel_id)):
            return {"ok": False, "error": "not_in_channel"}  # chat:write.public covers posts only
        shared = [self._share_file(f, args) for f in files]
        if any(s is None for s in shared):
            missing = [f.get("id") for f, s in zip(files, shared, strict=False) if s is None]
            with self._cond:
                self._errors.append(f"files.completeUploadExternal: file_not_found: never uploaded {missing}")
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [self._file_object(s) for s in shared if s is not None]}

    def _share_file(self, file: dict[str, Any], args: dict[str, Any]) -> SharedFile | None:
        file_id = str(file.get("id"))
        with self._cond:
            if file_id not in self._uploads:
                return None
            shared = SharedFile(
                file_id=file_id,
                filename=self._upload_names.get(file_id, ""),
                title=file.get("title"),
                content=self._uploads[file_id],
                channel_id=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
            self._shared_files.append(shared)
        return shared

    def _file_object(self, shared: SharedFile) -> dict[str, Any]:
        return {
            "id": shared.file_id,
            "name": shared.filename,
            "title": shared.title or shared.filename,
            "size": len(shared.content),
            "channels": [shared.channel_id] if shared.channel_id else [],
        }

    def _handle_upload(self, file_id: str, body: bytes, content_type: str) -> Answer:
        with self._cond:
            known = file_id in self._upload_names
        if not known:
            return Answer.text("unknown upload URL", status=404)
        try:
            content = uploaded_bytes(body, content_type)
        except ValueError as error:
            with self._cond:
                self._errors.append(f"upload {file_id}: {error}")
            return Answer.text(str(error), status=400)
        with self._cond:
            self._uploads[file_id] = content
            self._cond.notify_all()
        return Answer.text(f"OK - {len(content)}")
