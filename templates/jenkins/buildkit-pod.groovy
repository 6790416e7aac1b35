// Rootless BuildKit instead of Docker-in-Docker for {{ where }} (github.com/moby/buildkit
// examples/kubernetes/job.rootless.yaml; docs/targets/buildkit.md). The workspace is shared with the
// jnlp container: both must agree on UID 1000 (jenkinsci/kubernetes-plugin README). appArmorProfile
// needs Kubernetes >= 1.30; the namespace must allow Unconfined seccomp (Pod Security `privileged`).
agent {
  kubernetes {
    yaml '''
spec:
  containers:
  - name: buildkit
    image: {{ v.buildkit }}
    command: ["sleep"]
    args: ["99d"]
    env:
    - name: BUILDKITD_FLAGS
      value: --oci-worker-no-process-sandbox
    - name: DOCKER_CONFIG
      value: /home/user/.docker
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
      seccompProfile:
        # depriv: ignore[seccomp-unconfined] rootless BuildKit needs seccomp unconfined (github.com/moby/buildkit/blob/master/docs/rootless.md)
        type: Unconfined
      appArmorProfile:   # Kubernetes >= 1.30
        # depriv: ignore[seccomp-unconfined] rootless BuildKit needs AppArmor unconfined (github.com/moby/buildkit/blob/master/docs/rootless.md)
        type: Unconfined
    volumeMounts:
    - name: buildkitd
      mountPath: /home/user/.local/share/buildkit
    - name: docker-config
      mountPath: /home/user/.docker
  volumes:
  - name: buildkitd
    emptyDir: {}
  - name: docker-config
    secret:
      secretName: regcred
      items:
      - key: .dockerconfigjson
        path: config.json
'''
  }
}
steps {
  container('buildkit') {
{% for c in commands %}
    sh '''{{ c }}'''
{% endfor %}
  }
}
