"""Beat's scheduler: Celery's file-backed one, creating its schedule file's folder (0700) before opening it."""
from pathlib import Path

from celery.beat import PersistentScheduler

from app.private_files import private_dir


class FolderCreatingScheduler(PersistentScheduler):
    """PersistentScheduler that works on a fresh data volume, where the schedule's folder does not exist yet."""

    def _open_schedule(self):
        """Make the folder, then open the shelve file as Celery does."""
        private_dir(Path(self.schedule_filename).parent)
        return super()._open_schedule()
