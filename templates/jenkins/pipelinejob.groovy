// Job DSL: a freestyle `shell()` step runs in the agent's default container and cannot use a
// kaniko/BuildKit sidecar (the container() step is pipeline-only, recipes §8.3.6). Replace
// job('{{ job }}') by a pipelineJob running a Jenkinsfile built from the BuildKit or kaniko pod
// template (recipes §8.3.2, §8.3.3).
pipelineJob('{{ job }}') {
  definition {
    cps {
      script(readFileFromWorkspace('ci/Jenkinsfile.image'))
      sandbox()
    }
  }
}
