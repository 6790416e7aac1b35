//! The target picker: a choice per pipeline, "all alike", and on to the preview.

use super::*;

pub(super) fn planned(m: &mut Model, mut plan: MigrationPlan) {
    m.busy = None;
    // Keep what the user chose before going back, where it still can work.
    if let Some(old) = m.plan.take() {
        for p in &mut plan.pipelines {
            let Some(o) = old
                .pipelines
                .iter()
                .find(|o| o.key() == p.key() && o.why != "recommended")
            else {
                continue;
            };
            let ok = match o.choice.target() {
                None => true,
                Some(t) => p
                    .options
                    .iter()
                    .any(|x| x.target == t && x.infeasible.is_none()),
            };
            if ok {
                p.choice = o.choice;
                p.why = o.why.clone();
            }
        }
    }
    // The overview's order (natural: job2 before job10).
    plan.pipelines.sort_by(|a, b| {
        let (x, y) = (&a.pipeline, &b.pipeline);
        index::order(x.surface, &x.path, &x.name).cmp(&index::order(y.surface, &y.path, &y.name))
    });
    let empty = plan.pipelines.is_empty();
    m.plan = Some(plan);
    m.targets = model::TargetsState::default();
    m.targets.opt = current_opt(m);
    m.diff.skipped.clear();
    if empty {
        status(m, Level::Info, "No pipeline needs a decision");
    }
    m.screen = Screen::Targets;
}

/// Index of the selected pipeline's current choice among its choices.
pub(super) fn current_opt(m: &Model) -> usize {
    m.target_pipeline()
        .map(|p| {
            model::choices(p)
                .iter()
                .position(|c| c.choice == p.choice)
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

pub(super) fn set_choice(m: &mut Model, i: usize, c: Choice) -> bool {
    let Some(p) = m.plan.as_mut().and_then(|p| p.pipelines.get_mut(i)) else {
        return false;
    };
    if p.choice == c {
        return false;
    }
    p.choice = c;
    p.why = match &p.advice {
        // A workload's privilege: its advice says why.
        Some((a, why)) if *a == c => why.clone(),
        _ if c == Choice::from(p.recommended) && p.advice.is_none() => "recommended".to_string(),
        _ => WHY_USER.to_string(),
    };
    m.changed = true;
    true
}

pub(super) fn select_pipeline(m: &mut Model, i: usize) {
    let n = m.plan.as_ref().map_or(0, |p| p.pipelines.len());
    let rows = layout::inner_rows(layout::targets(m.frame().body)[0]).max(1);
    m.targets.sel = i.min(n.saturating_sub(1));
    m.targets.offset = layout::follow(m.targets.offset, m.targets.sel, rows);
    m.targets.opt = current_opt(m);
}

pub(super) fn request_preview(m: &mut Model) -> Option<Effect> {
    let plan = m.plan.clone()?;
    let scan = m.scan.clone()?;
    m.busy = Some(busy::PREVIEWING.into());
    Some(Effect::Preview {
        plan: Box::new(plan),
        scan,
    })
}

/// Take `c` for the selected pipeline and move on (to the preview after the last).
pub(super) fn choose_and_next(m: &mut Model, c: Choice) -> Option<Effect> {
    let sel = m.targets.sel;
    set_choice(m, sel, c);
    let n = m.plan.as_ref().map_or(0, |p| p.pipelines.len());
    if sel + 1 < n {
        select_pipeline(m, sel + 1);
        None
    } else {
        request_preview(m)
    }
}

pub(super) fn targets(m: &mut Model, a: Action) -> Option<Effect> {
    let Some(p) = m.target_pipeline() else {
        return match a {
            Action::Forward => request_preview(m),
            Action::Back => {
                m.screen = Screen::Environment;
                None
            }
            _ => None,
        };
    };
    let rows = model::choices(p);
    let page = layout::inner_rows(layout::targets(m.frame().body)[0]).max(1);
    let sel = m.targets.sel;
    match a {
        Action::Up => m.targets.opt = m.targets.opt.saturating_sub(1),
        Action::Down => m.targets.opt = clamp_add(m.targets.opt, 1, rows.len()),
        // Home/End move through the pipelines: an option is only ever taken with Enter.
        Action::Top => select_pipeline(m, 0),
        Action::Bottom => select_pipeline(m, usize::MAX / 2),
        Action::NextPane => select_pipeline(m, sel + 1),
        Action::PrevPane => select_pipeline(m, sel.saturating_sub(1)),
        Action::PageDown => select_pipeline(m, sel.saturating_add(page)),
        Action::PageUp => select_pipeline(m, sel.saturating_sub(page)),
        Action::Forward => {
            let row = rows.get(m.targets.opt)?;
            if let Some(why) = &row.infeasible {
                let text = format!("{} cannot work here: {why}", row.choice.as_str());
                status(m, Level::Warn, text);
                return None;
            }
            return choose_and_next(m, row.choice);
        }
        Action::Skip => return choose_and_next(m, Choice::Skip),
        Action::Manual => return choose_and_next(m, Choice::Manual),
        Action::ApplyAll => apply_all(m),
        Action::AcceptRest => return accept_rest(m),
        Action::Back => m.screen = Screen::Environment,
        _ => {}
    }
    None
}

pub(super) fn apply_all(m: &mut Model) {
    let Some(p) = m.target_pipeline() else {
        return;
    };
    let rows = model::choices(p);
    let Some(row) = rows.get(m.targets.opt) else {
        return;
    };
    if let Some(why) = &row.infeasible {
        let text = format!("{} cannot work here: {why}", row.choice.as_str());
        status(m, Level::Warn, text);
        return;
    }
    let choice = row.choice;
    let like = (
        p.pipeline.surface,
        p.pipeline.docker_usage.clone(),
        p.pipeline.hosting,
    );
    let targets: Vec<usize> = m
        .plan
        .as_ref()
        .map(|plan| {
            plan.pipelines
                .iter()
                .enumerate()
                .filter(|(_, q)| {
                    (
                        q.pipeline.surface,
                        &q.pipeline.docker_usage,
                        q.pipeline.hosting,
                    ) == (like.0, &like.1, like.2)
                })
                .filter(|(_, q)| match choice.target() {
                    None => true,
                    Some(t) => q
                        .options
                        .iter()
                        .any(|o| o.target == t && o.infeasible.is_none()),
                })
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let n = targets.len();
    for i in targets {
        set_choice(m, i, choice);
    }
    let usage: Vec<&str> = like.1.iter().map(|u| u.as_str()).collect();
    let text = format!(
        "{} for {} like this one ({}, uses Docker for {})",
        choice.as_str(),
        plural(n, "pipeline", "pipelines"),
        index::surface_name(like.0),
        if usage.is_empty() {
            "unknown".to_string()
        } else {
            usage.join(", ")
        }
    );
    status(m, Level::Done, text);
}

/// The fast path: the recommended target for the selected pipeline and every one after it
/// (where it can work), then the preview.
pub(super) fn accept_rest(m: &mut Model) -> Option<Effect> {
    let sel = m.targets.sel;
    let picks: Vec<(usize, Choice)> = m
        .plan
        .as_ref()?
        .pipelines
        .iter()
        .enumerate()
        .skip(sel)
        .filter(|(_, p)| {
            p.advice.is_some()
                || p.options
                    .iter()
                    .any(|o| o.target == p.recommended && o.infeasible.is_none())
        })
        .map(|(i, p)| {
            let rec = p
                .advice
                .as_ref()
                .map_or(Choice::from(p.recommended), |(a, _)| *a);
            (i, rec)
        })
        .collect();
    let n = picks.len();
    for (i, c) in picks {
        set_choice(m, i, c);
    }
    status(
        m,
        Level::Done,
        format!(
            "Recommended target for {}",
            plural(n, "remaining pipeline", "remaining pipelines")
        ),
    );
    request_preview(m)
}
