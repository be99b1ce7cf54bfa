from django.core.management.base import BaseCommand

from playground.services import runs_dispatch_pending, runs_fail_abandoned


class Command(BaseCommand):
    help = "Dispatch runs left queued while the broker was down; fail runs whose worker died."

    def handle(self, *args, **options):
        failed = runs_fail_abandoned()
        sent = runs_dispatch_pending()
        self.stdout.write(f"runs: {sent} dispatched, {failed} marked failed")
