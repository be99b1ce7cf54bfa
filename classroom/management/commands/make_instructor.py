from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError

from classroom.access import INSTRUCTORS_GROUP


class Command(BaseCommand):
    help = "Let a user run classrooms: adds them to the Instructors group (created with its permission if needed)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}. Create one first (sign up, or `manage.py createsuperuser`).")
        group, _ = Group.objects.get_or_create(name=INSTRUCTORS_GROUP)
        group.permissions.add(Permission.objects.get(content_type__app_label="classroom", codename="add_classroom"))
        user.groups.add(group)
        self.stdout.write(f"{username} is an instructor: they can create classrooms at /classes/.")
