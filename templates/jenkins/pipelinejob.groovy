// Job DSL: a freestyle `shell()` step runs in the agent's default container and cannot use a
// kaniko/BuildKit sidecar (the container() step is pipeline-only, https://github.com/jenkinsci/kubernetes-plugin#pipeline-support). Replace
// job('{{ job }}') by a pipelineJob running a Jenkinsfile built from the BuildKit or kaniko pod
// template (https://github.com/jenkinsci/kubernetes-plugin/blob/master/examples/kaniko.groovy; https://github.com/moby/buildkit/blob/master/examples/kubernetes/job.rootless.yaml; docs/targets/kaniko.md; docs/targets/buildkit.md).
pipelineJob('{{ job }}') {
  definition {
    cps {
      script(readFileFromWorkspace('ci/Jenkinsfile.image'))
      sandbox()
    }
  }
}
