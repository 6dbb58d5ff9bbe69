#!/bin/sh
# Build kube-apiserver v1.31.0 from the Go module proxy into ~/go/bin (about 5 minutes on 2 cores).
# k8s.io/kubernetes points its k8s.io/* staging modules at ./staging, which a module zip lacks:
# replace each with its published v0.31.0 module instead.
set -eu
work=$(mktemp -d)
cd "$work"
dir=$(go mod download -json k8s.io/kubernetes@v1.31.0 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
{
  echo "module kapi"; echo "go 1.22"; echo "require k8s.io/kubernetes v1.31.0"; echo "replace ("
  grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$dir/go.mod" | awk '{print "  " $1 " => " $1 " v0.31.0"}'
  echo ")"
} > go.mod
printf 'package main\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\nfunc main() {}\n' > main.go
GOFLAGS=-mod=mod go mod tidy
GOFLAGS=-mod=mod go build -o "$HOME/go/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
echo "built $HOME/go/bin/kube-apiserver"
