"""What HR holds about a person (a core contact), for GDPR export and erasure requests.

A person's HR records are their employee file (the HR fields, custom fields where a company keeps
national ids, bank accounts or birth dates, contracts, leave, skills, training and a summary of
their payslips) and their job applications (linked to the employee file, or carrying their email
address). Contracts and payslips are employment and payroll records that the law requires to
keep: an employee who has any cannot be deleted, only anonymized.

Erasing: anonymizing blanks the employee's emergency contact, notes and custom fields, the notes
of their contracts, the reasons and decision notes of their leave, and the applications' name,
email, phone, CV (text and file), notes and rejection reason; dates, wages and pay stay.
Deleting removes the employee file (leave, allocations, skills, training) and the applications.
These functions do not check permissions: the GDPR request service that calls the hooks has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.plugin_api import Contact

from ..models import (
    Applicant,
    Attendance,
    Contract,
    Department,
    Employee,
    EmployeeSkill,
    LeaveAllocation,
    LeaveRequest,
    PayrollRun,
    Payslip,
)

RETENTION = "employment and payroll records are kept"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _employee(session: Session, contact: Contact) -> Employee | None:
    return session.scalar(
        select(Employee).where(Employee.company_id == contact.company_id, Employee.contact_id == contact.id)
    )


def _applicants(session: Session, contact: Contact, employee: Employee | None) -> list[Applicant]:
    match = []
    if employee is not None:
        match.append(Applicant.employee_id == employee.id)
    if contact.email:
        match.append(func.lower(Applicant.email) == contact.email.lower())
    if not match:
        return []
    return list(
        session.scalars(
            select(Applicant)
            .where(Applicant.company_id == contact.company_id, or_(*match))
            .order_by(Applicant.id)
        )
    )


def _of_employee(session: Session, model: Any, employee: Employee) -> list[Any]:
    return list(
        session.scalars(
            select(model)
            .where(model.company_id == employee.company_id, model.employee_id == employee.id)
            .order_by(model.id)
        )
    )


def _employee_file(session: Session, employee: Employee) -> dict[str, Any]:
    payslips = session.execute(
        select(Payslip, PayrollRun.year, PayrollRun.month, PayrollRun.state, PayrollRun.payment_date)
        .join(PayrollRun, PayrollRun.id == Payslip.run_id)
        .where(Payslip.company_id == employee.company_id, Payslip.employee_id == employee.id)
        .order_by(PayrollRun.year, PayrollRun.month, Payslip.id)
    ).all()
    return {
        "id": employee.id,
        "number": employee.number,
        "status": employee.status,
        "hire_date": _iso(employee.hire_date),
        "termination_date": _iso(employee.termination_date),
        "job_title": employee.job_title,
        "department": employee.department.name if employee.department else None,
        "position": employee.position.name if employee.position else None,
        "manager": employee.manager.name if employee.manager else None,
        "user_id": employee.user_id,
        "emergency_name": employee.emergency_name,
        "emergency_phone": employee.emergency_phone,
        "notes": employee.notes,
        "custom": dict(employee.custom or {}),
        "contracts": [
            {
                "kind": contract.kind,
                "start_date": _iso(contract.start_date),
                "end_date": _iso(contract.end_date),
                "wage": str(contract.wage),
                "wage_period": contract.wage_period,
                "hours_per_week": str(contract.hours_per_week),
                "notes": contract.notes,
            }
            for contract in _of_employee(session, Contract, employee)
        ],
        "leave": [
            {
                "type": request.leave_type.code,
                "start_date": _iso(request.start_date),
                "end_date": _iso(request.end_date),
                "days": str(request.days),
                "state": request.state,
                "reason": request.reason,
                "decision_note": request.decision_note,
            }
            for request in _of_employee(session, LeaveRequest, employee)
        ],
        "leave_allocations": [
            {"type": allocation.leave_type.code, "year": allocation.year, "days": str(allocation.days)}
            for allocation in _of_employee(session, LeaveAllocation, employee)
        ],
        "skills": [
            {"skill": skill.skill.name, "level": skill.level}
            for skill in _of_employee(session, EmployeeSkill, employee)
        ],
        "training": [
            {
                "course": attendance.session.course.name,
                "date": _iso(attendance.session.date),
                "status": attendance.status,
                "completed_on": _iso(attendance.completed_on),
            }
            for attendance in _of_employee(session, Attendance, employee)
        ],
        "payslips": [
            {
                "period": f"{year:04d}-{month:02d}",
                "run_state": state,
                "payment_date": _iso(payment_date),
                "gross": str(slip.gross),
                "deductions": str(slip.total_deductions),
                "net": str(slip.net),
                "employer_contributions": str(slip.total_contributions),
            }
            for slip, year, month, state, payment_date in payslips
        ],
    }


def personal_data(session: Session, contact: Contact) -> dict[str, Any]:
    """HR's sections of the export: ``hr_employee`` (the file, or None) and ``hr_applicants``."""
    employee = _employee(session, contact)
    return {
        "hr_employee": _employee_file(session, employee) if employee is not None else None,
        "hr_applicants": [
            {
                "id": applicant.id,
                "name": applicant.name,
                "email": applicant.email,
                "phone": applicant.phone,
                "opening": applicant.opening.title if applicant.opening else None,
                "stage": applicant.stage,
                "cv_text": applicant.cv_text,
                "cv_filename": applicant.cv_filename,
                "cv_size": applicant.cv_size,
                "notes": applicant.notes,
                "rejection_reason": applicant.rejection_reason,
                "custom": dict(applicant.custom or {}),
                "applied_at": _iso(applicant.created_at),
            }
            for applicant in _applicants(session, contact, employee)
        ],
    }


def retained(session: Session, contact: Contact) -> list[str]:
    """An employee file with contracts or payslips is an employment record: it is kept."""
    employee = _employee(session, contact)
    if employee is None:
        return []
    reasons = []
    for model, label in ((Contract, "employment contracts"), (Payslip, "payslips")):
        count = session.scalar(
            select(func.count())
            .select_from(model)
            .where(model.company_id == employee.company_id, model.employee_id == employee.id)
        )
        if count:
            reasons.append(f"employee {employee.number}: {count} {label} ({RETENTION})")
    return reasons


def _anonymize_applicants(applicants: list[Applicant]) -> None:
    for applicant in applicants:
        applicant.name = f"Erased applicant #{applicant.id}"
        applicant.email = ""
        applicant.phone = ""
        applicant.cv_text = ""
        applicant.cv_file = None
        applicant.cv_filename = ""
        applicant.cv_content_type = ""
        applicant.cv_size = 0
        applicant.notes = ""
        applicant.rejection_reason = ""
        applicant.custom = {}


def erase(session: Session, contact: Contact, *, anonymize: bool) -> list[str]:
    """Anonymize or delete the person's employee file and applications; one line per thing done."""
    employee = _employee(session, contact)
    applicants = _applicants(session, contact, employee)
    done: list[str] = []
    if anonymize:
        if employee is not None:
            employee.emergency_name = ""
            employee.emergency_phone = ""
            employee.notes = ""
            employee.custom = {}
            for contract in _of_employee(session, Contract, employee):
                contract.notes = ""
            for request in _of_employee(session, LeaveRequest, employee):
                request.reason = ""
                request.decision_note = ""
            done.append(
                f"employee {employee.number}: emergency contact, notes, custom fields, contract notes "
                "and leave reasons erased"
            )
        _anonymize_applicants(applicants)
        session.flush()
        if applicants:
            done.append(f"{len(applicants)} job applications: name, email, phone, CV and notes erased")
        return done
    for applicant in applicants:
        session.delete(applicant)
    session.flush()
    if applicants:
        done.append(f"{len(applicants)} job applications deleted")
    if employee is not None:
        number = employee.number
        # Who reported to them, and the departments they managed, lose their manager.
        session.execute(
            update(Employee)
            .where(Employee.company_id == employee.company_id, Employee.manager_id == employee.id)
            .values(manager_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Department)
            .where(Department.company_id == employee.company_id, Department.manager_id == employee.id)
            .values(manager_id=None)
            .execution_options(synchronize_session=False)
        )
        for model in (LeaveRequest, LeaveAllocation, EmployeeSkill, Attendance):
            for record in _of_employee(session, model, employee):
                session.delete(record)
        session.flush()
        session.delete(employee)
        session.flush()
        done.append(f"employee {number}: file, leave, skills and training deleted")
    return done
