//! The UI's shared vocabulary: what a key asks for ([`Action`]), text typed into a field
//! ([`Input`]) and why a write was refused ([`Guard`]). A leaf: it imports nothing from the
//! UI, so the key table, the messages and the model can all use it without depending on
//! each other.

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Quit (asks when decisions would be lost).
    Quit,
    /// Quit at once (Ctrl-C).
    ForceQuit,
    /// Show the help overlay.
    Help,
    /// Close the overlay.
    CloseOverlay,
    /// Take the highlighted choice and go forward.
    Forward,
    /// Go back one screen (or cancel).
    Back,
    /// Move up.
    Up,
    /// Move down.
    Down,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// To the top.
    Top,
    /// To the bottom.
    Bottom,
    /// Left (previous value, scroll left).
    Left,
    /// Right (next value, scroll right).
    Right,
    /// Next pane, pipeline or file.
    NextPane,
    /// Previous pane, pipeline or file.
    PrevPane,
    /// Open the finding's details.
    Detail,
    /// Next finding.
    NextItem,
    /// Previous finding.
    PrevItem,
    /// Type a search.
    Search,
    /// Cycle the minimum severity.
    CycleSeverity,
    /// Cycle the surface filter.
    CycleSurface,
    /// Cycle the rule filter.
    CycleRule,
    /// Show or hide suppressed findings.
    ToggleSuppressed,
    /// Clear every filter.
    ClearFilter,
    /// Change the highlighted answer.
    Change,
    /// Edit a text answer.
    Edit,
    /// Save the answers into `.depriv.toml`.
    Save,
    /// Apply the highlighted target to every pipeline like this one.
    ApplyAll,
    /// Take the recommended target for this and every following pipeline, then preview.
    AcceptRest,
    /// Skip the pipeline.
    Skip,
    /// Leave the pipeline to a person.
    Manual,
    /// Unified ↔ side-by-side.
    ToggleMode,
    /// Next hunk.
    NextHunk,
    /// Previous hunk.
    PrevHunk,
    /// Accept or skip the file.
    ToggleFile,
    /// Write despite the version-control guard.
    Force,
    /// Confirm quitting.
    QuitYes,
    /// Stay.
    QuitNo,
}

/// Text typed into a field (search, registry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A character.
    Char(char),
    /// Delete the last character.
    Backspace,
    /// Accept the text.
    Submit,
    /// Drop the edit.
    Cancel,
}

/// Why a write was refused by the version-control guard (the user may override it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Uncommitted changes.
    Dirty,
    /// Not under version control.
    NoVcs,
}
