// kaniko instead of Docker-in-Docker for {{ where }} (https://github.com/jenkinsci/kubernetes-plugin/blob/master/examples/kaniko.groovy; docs/targets/kaniko.md). The image is the
// maintained osscontainertools fork (-debug has the shell `sh` steps need); `regcred` is a
// kubernetes.io/dockerconfigjson Secret.
agent {
  kubernetes {
    defaultContainer 'kaniko'
    yaml '''
kind: Pod
spec:
  containers:
  - name: kaniko
    image: {{ v.kaniko }}
    command: ["sleep"]
    args: ["99d"]
    volumeMounts:
    - name: docker-config
      mountPath: /kaniko/.docker
  volumes:
  - name: docker-config
    projected:
      sources:
      - secret:
          name: regcred
          items:
          - key: .dockerconfigjson
            path: config.json
'''
  }
}
steps {
{% for c in commands %}
  sh '''{{ c }}'''
{% endfor %}
}
