// Docker API for {{ where }} without --privileged: a dind sidecar under sysbox on the agent host
// (recipes §8.3.5). TLS is off only because the daemon is reachable solely on the link network;
// prefer TLS with a shared certs volume when possible. --link is deprecated: on engines where it
// misbehaves, put both containers on a user-defined network instead.
docker.image('{{ v.dind }}').withRun('--runtime={{ v.sysbox_runtime }} -e DOCKER_TLS_CERTDIR=') { d ->
  docker.image('{{ v.docker_cli }}').inside("--link ${d.id}:docker -e DOCKER_HOST=tcp://docker:2375") {
    sh 'until docker version >/dev/null 2>&1; do sleep 1; done'
{% for c in commands %}
    sh '{{ c }}'
{% endfor %}
  }
}
