// Rootless BuildKit instead of Docker-in-Docker for {{ where }} (recipes §8.3.3).
// The workspace is shared with the jnlp container: both must agree on UID 1000.
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
        type: Unconfined
      appArmorProfile:
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
