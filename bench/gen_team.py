#!/usr/bin/env python3
"""Writes the benchmark's team config: N environments written out one by one (no loops, so the
parser sees the whole file), each with a role binding, 5 ingress rules with port ranges and
3 install steps."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
out = [
    'let internal = ["10.0.0.0/8", "172.16.0.0/12"]',
    'role "team-dev" {',
    '  trust = ["ec2.amazonaws.com", "cloud9.amazonaws.com"]',
    '  managed = ["arn:aws:iam::aws:policy/AWSCloud9SSMInstanceProfile"]',
    '  allow ["secretsmanager:GetSecretValue"] on "arn:aws:secretsmanager:ap-northeast-1:*:secret:team/*"',
    '}',
]
for i in range(n):
    out += [
        f'environment "dev-{i:04d}" {{',
        '  kind = cloud9',
        '  instance_type = "t3.medium"',
        '  image = "amazonlinux-2023-x86_64"',
        '  subnet = "subnet-0123456789abcdef0"',
        '  connection = ssm',
        '  auto_stop = 30m',
        '  managed_credentials = false',
        '  role = "team-dev"',
        '  imds = { tokens: "required", hop_limit: 1 }',
        f'  tags = {{ owner: "user{i}", project: "team" }}',
        '  ingress tcp 443 from internal "GitHub Enterprise"',
        '  ingress tcp 8000..8080 from internal "dev servers"',
        f'  ingress tcp {9000 + i % 100}..{9100 + i % 100} from "10.{i % 256}.0.0/16" "team range"',
        '  ingress udp 53 from internal "DNS"',
        '  ingress icmp from internal "ping"',
        '  install "tools" = { commands: ["dnf install -y git jq"], creates: "/usr/bin/jq" }',
        f'  install "dotfiles" = {{ script: "git clone https://ghe.example/user{i}/dotfiles ~/.dotfiles\\n", unless: "test -d ~/.dotfiles" }}',
        '  install "agent" = { script: "/opt/agent/install.sh\\n", env: { TOKEN: secret("team/agent-token") }, timeout: 15m }',
        '}',
    ]
print("\n".join(out))
