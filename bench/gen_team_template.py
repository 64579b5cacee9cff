#!/usr/bin/env python3
"""Writes the benchmark's team config the way a team writes it: a template function and a list
of N members. Each environment has a role binding, 5 ingress rules (port ranges checked) and 3
install steps."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
members = ", ".join(f'"user{i:04d}"' for i in range(n))
print(f'''let internal = ["10.0.0.0/8", "172.16.0.0/12"]
let members = [{members}]

let dev_role = role "team-dev" {{
  trust = ["ec2.amazonaws.com", "cloud9.amazonaws.com"]
  managed = ["arn:aws:iam::aws:policy/AWSCloud9SSMInstanceProfile"]
  allow ["secretsmanager:GetSecretValue"] on "arn:aws:secretsmanager:ap-northeast-1:*:secret:team/*"
}}
dev_role

fn dev_env(i, user) = environment "dev-${{user}}" {{
  kind = cloud9
  instance_type = "t3.medium"
  image = "amazonlinux-2023-x86_64"
  subnet = "subnet-0123456789abcdef0"
  connection = ssm
  auto_stop = 30m
  managed_credentials = false
  role = dev_role
  imds = {{ tokens: "required", hop_limit: 1 }}
  tags = {{ owner: user, project: "team" }}
  ingress tcp 443 from internal "GitHub Enterprise"
  ingress tcp 8000..8080 from internal "dev servers"
  ingress tcp (9000 + i % 100)..(9100 + i % 100) from "10.${{i % 256}}.0.0/16" "team range"
  ingress udp 53 from internal "DNS"
  ingress icmp from internal "ping"
  install "tools" = {{ commands: ["dnf install -y git jq"], creates: "/usr/bin/jq" }}
  install "dotfiles" = {{ script: "git clone https://ghe.example/${{user}}/dotfiles ~/.dotfiles\\n", unless: "test -d ~/.dotfiles" }}
  install "agent" = {{ script: "/opt/agent/install.sh\\n", env: {{ TOKEN: secret("team/agent-token") }}, timeout: 15m }}
}}

for i, user in members {{
  dev_env(i, user)
}}''')
