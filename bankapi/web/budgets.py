"""Monthly budgets per category and spending insights."""
from apiflask import APIBlueprint

from ..domain import budgeting
from .auth import current_user_id, token_auth
from ..clock import month_of, utcnow
from ..database.db import db
from .schemas import BudgetIn, BudgetOut, BudgetsOut, CategoryPath, MonthQuery, SpendingOut

bp = APIBlueprint("budgets", __name__, tag="Budgets")


@bp.get("/budgets")
@bp.auth_required(token_auth)
@bp.input(MonthQuery, location="query")
@bp.output(BudgetsOut)
def list_budgets(query_data):
    """Budgets with this month's (or ?month=) spending against them."""
    month = query_data.get("month") or month_of(utcnow())
    return {"month": month, "budgets": budgeting.budgets(db.session, current_user_id(), month)}


@bp.put("/budgets/<category>")
@bp.auth_required(token_auth)
@bp.input(CategoryPath, location="path")
@bp.input(BudgetIn)
@bp.output(BudgetOut)
def put_budget(category, json_data, path_data):
    """Create or replace the monthly budget for a category."""
    with db.write() as session:
        return budgeting.set_budget(session, current_user_id(), category, json_data["limit"],
                                    utcnow())


@bp.delete("/budgets/<category>")
@bp.auth_required(token_auth)
@bp.input(CategoryPath, location="path")
@bp.output({}, status_code=204)
@bp.doc(responses=[404])
def delete_budget(category, path_data):
    """Remove a category's budget."""
    with db.write() as session:
        budgeting.delete_budget(session, current_user_id(), category)
    return ""


@bp.get("/insights/spending")
@bp.auth_required(token_auth)
@bp.input(MonthQuery, location="query")
@bp.output(SpendingOut)
def spending(query_data):
    """Card spending in a month, by category."""
    month = query_data.get("month") or month_of(utcnow())
    rows = budgeting.spending(db.session, current_user_id(), month)
    return {"month": month, "total_spent": sum(r.spent for r in rows),
            "by_category": [{"category": r.category, "spent": r.spent, "count": r.count}
                            for r in rows]}
