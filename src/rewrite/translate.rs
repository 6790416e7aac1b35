//! Command translation: `docker build/login/tag/push` → `buildctl-daemonless.sh build` or
//! `/kaniko/executor`, with every flag mapping of the recipes; unmappable flags are reported.
