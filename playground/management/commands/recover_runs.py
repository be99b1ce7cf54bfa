from django.core.management.base import BaseCommand

from playground.services import runs_reap


class Command(BaseCommand):
    help = "One reaper pass by hand (every worker runs one periodically): resend lost runs, fail abandoned ones."

    def handle(self, *args, **options):
        done = runs_reap()
        self.stdout.write(f"runs: {done['dispatched']} dispatched, {done['failed']} marked failed, "
                          f"{done['swept']} scratch folders removed")
