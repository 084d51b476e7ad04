from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import (
    Approval,
    BehaviorProfile,
    DeployOutcome,
    PersonalityProfile,
    Proposal,
    Session,
    Skill,
    TaskEvent,
    Turn,
    ValidationResult,
    WorkflowRun,
    WorkflowStep,
)

_OVERVIEW_MODELS = [
    Session,
    Turn,
    WorkflowRun,
    WorkflowStep,
    TaskEvent,
    Skill,
    BehaviorProfile,
    PersonalityProfile,
    Proposal,
    ValidationResult,
    Approval,
    DeployOutcome,
]


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    counts = [(m._meta.verbose_name_plural, m.objects.count()) for m in _OVERVIEW_MODELS]
    return render(request, "memory_app/overview.html", {"counts": counts})
