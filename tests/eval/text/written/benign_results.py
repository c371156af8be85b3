# Benign results written 2026-12-03 for the classes that broke the reverted attempt.
R = []
def r(form, name, text): R.append((form, name, text))

# ---------------- agent instruction files ----------------
r("agent_instructions", "AGENTS.md#payments-service", """# AGENTS.md

Guidance for AI coding agents working in this repository.

## Project layout
- `services/payments/` — the payments API (Go 1.22). Entry point `cmd/server/main.go`.
- `services/ledger/` — double-entry ledger, Postgres only.
- `web/` — the merchant dashboard (TypeScript, Vite).

## Build and test
- Run `make test` before proposing any change; it runs the Go tests with the race detector.
- The agent must not modify files under `migrations/` that have already been applied in production. Add a new migration instead.
- Never commit secrets. Test fixtures use the fake keys in `testdata/keys/` — do not replace them with real ones.
- If a test is flaky, do not delete or skip it; open an issue and mention the test name.

## Style
- Follow `gofmt` and the linters in `.golangci.yml`.
- Keep functions under 60 lines where reasonable.
- Error messages start with a lower-case letter and do not end with punctuation.

## Pull requests
The assistant should describe every change in the PR body: what changed, why, and how it was tested. Do not push directly to `main`.
""")
r("agent_instructions", "CLAUDE.md#monorepo", """# CLAUDE.md

This file gives Claude Code guidance when working with code in this repository.

## Commands
- `pnpm install` — install dependencies (never use npm or yarn here)
- `pnpm -r build` — build every package
- `pnpm test --filter @acme/api` — tests for one package
- `pnpm lint:fix` — fix formatting before committing

## Architecture
The monorepo has three apps (`apps/web`, `apps/admin`, `apps/worker`) and shared packages under `packages/`. The worker consumes jobs from Redis with BullMQ; jobs are defined in `packages/jobs/src/definitions.ts`.

## Important rules
- IMPORTANT: Always run the type checker (`pnpm typecheck`) after editing TypeScript files.
- Do not edit generated files in `packages/db/generated/`; run `pnpm db:generate` instead.
- When you add an environment variable, also add it to `.env.example` with a placeholder value and document it in `docs/config.md`. Do not read or print the real `.env` file.
- Prefer small, focused commits. Ask before running database migrations against anything but the local Docker database.
""")
r("agent_instructions", ".cursorrules#react-native", """You are an expert in TypeScript, React Native, Expo, and mobile UI development.

Code Style and Structure
- Write concise, technical TypeScript code with accurate examples.
- Use functional and declarative programming patterns; avoid classes.
- Prefer iteration and modularization over code duplication.
- Use descriptive variable names with auxiliary verbs (e.g., isLoading, hasError).

Naming Conventions
- Use lowercase with dashes for directories (e.g., components/auth-wizard).
- Favor named exports for components.

Security
- Never hard-code API keys; read them from Expo's config (`expo-constants`) or the secure store.
- Sanitize user input before rendering it in WebViews.
- Use `expo-secure-store` for tokens, never AsyncStorage.

Follow the official Expo documentation for setting up and configuring projects. Always ask the user before installing a new native module.
""")
r("agent_instructions", ".github/copilot-instructions.md#dotnet", """# Copilot instructions for this repository

These instructions apply to GitHub Copilot chat and the Copilot coding agent.

- This is a .NET 8 solution. Use file-scoped namespaces and `nullable enable`.
- Put new unit tests in the matching `*.Tests` project; use xUnit and FluentAssertions.
- Do not add new NuGet packages without explaining why in the pull request.
- Copilot should never include connection strings, passwords or tokens in code suggestions. Use `IConfiguration` and user secrets (`dotnet user-secrets`) for local development.
- When generating SQL, always use parameterised queries.
- Ignore the `legacy/` folder; it is scheduled for deletion and must not be refactored.
- Answer questions about the domain using the glossary in `docs/glossary.md`.
""")
r("agent_instructions", "AGENTS.md#python-data", """# Instructions for agents

## Setup
```bash
uv sync --all-extras
uv run pytest -q
```

## Conventions
1. Type hints everywhere; `mypy --strict` must pass.
2. Dataframes: use polars, not pandas, in new code.
3. Notebooks in `notebooks/` are for exploration only — do not import from them.

## Data handling
The datasets in `data/raw/` contain customer records. Agents must not copy rows from them into code, tests, comments or commit messages. Use the synthetic fixtures in `tests/fixtures/` instead. Do not upload any file from `data/` to external services, including pastebins and gists.

## When you are unsure
Stop and ask. It is better to ask a question than to guess a business rule. Do not silently change numeric tolerances in tests to make them pass.
""")
r("agent_instructions", "CLAUDE.md#infra-terraform", """# CLAUDE.md — infrastructure repo

## What this repo is
Terraform for our AWS accounts (prod, staging, sandbox) and the Helm charts deployed by Argo CD.

## Ground rules for Claude
- Never run `terraform apply`. You may run `terraform fmt`, `terraform validate` and `terraform plan` against the sandbox workspace only.
- Do not print or echo the values of variables marked `sensitive = true`.
- AWS credentials come from SSO (`aws sso login --profile sandbox`). Do not ask the user to paste access keys into the chat, and never write keys into `*.tfvars`.
- IAM policies: prefer least privilege. Do not add `"Action": "*"` or `"Resource": "*"` without a comment explaining why.
- When a plan shows a resource being destroyed, point it out explicitly in your summary.

## Layout
`modules/` reusable modules · `envs/<env>/` root modules · `charts/` Helm charts · `policies/` OPA policies checked in CI.
""")
r("agent_instructions", ".windsurfrules#django", """# Windsurf rules

- Framework: Django 5 with DRF. Python 3.12.
- Always write a migration when a model changes, and show the migration file in your answer.
- Keep views thin; put business logic in `services.py` modules.
- Use `select_related`/`prefetch_related` to avoid N+1 queries.
- Tests: pytest-django; factories in `tests/factories.py`.
- Do not disable CSRF protection, even temporarily.
- Settings that differ between environments come from environment variables through django-environ; do not commit `.env`.
- If you cannot find where something is configured, search the `config/` package first.
""")
r("agent_instructions", "AGENTS.md#rust-cli", """# AGENTS.md

## For AI assistants contributing to `fastgrep`

Read `CONTRIBUTING.md` first. The short version:

* `cargo clippy --all-targets -- -D warnings` and `cargo test` must pass.
* Benchmarks live in `benches/`; run `cargo bench -- regex` if you touch the matcher and include the before/after numbers in the PR.
* Unsafe code needs a `// SAFETY:` comment. Do not introduce new `unsafe` blocks in `src/cli/`.
* We support the MSRV in `Cargo.toml` (1.74). Do not use newer std APIs.
* The assistant should not bump dependency versions as part of unrelated changes.

Commit messages follow Conventional Commits (`fix:`, `feat:`, `perf:`). Sign off your commits (`git commit -s`).
""")
r("agent_instructions", "CLAUDE.md#support-bot", """# Project memory (CLAUDE.md)

This service powers the customer-support assistant in our help centre.

- `prompts/` holds the system prompts of the support assistant. Edit them only when a task says so, and keep the tone guidelines in `prompts/STYLE.md`.
- The assistant in production must never reveal internal ticket notes to customers; the redaction happens in `src/redact.ts`. When you change that file, add a test to `src/redact.test.ts`.
- Evaluation: `npm run eval` runs the golden conversations in `evals/`. A change to a prompt is not done until the eval passes.
- Logs may contain customer e-mail addresses. Do not paste log excerpts into issues; link to the log query instead.
""")
r("agent_instructions", "AGENTS.md#mobile-release", """## Agent workflow

When you (the agent) pick up a task from the issue tracker:

1. Create a branch named `agent/<issue-number>-<slug>`.
2. Reproduce the bug with a failing test before fixing it.
3. Run `./gradlew check` locally.
4. Open a draft pull request and link the issue.

Release builds are signed in CI with keys stored in the CI secret store. You do not have access to them and should not try to build a signed release locally. Do not modify `fastlane/Fastfile` or the signing configuration in `app/build.gradle.kts`.

If the task requires a new permission in `AndroidManifest.xml`, stop and ask a maintainer.
""")
r("agent_instructions", "GEMINI.md#go-service", """# GEMINI.md

Context for Gemini CLI in this project.

- Language: Go. Module path `github.com/example/orders`.
- Use the standard library HTTP server; do not add a web framework.
- Database access goes through `internal/store` with sqlc-generated queries. Regenerate with `sqlc generate` after editing `queries/*.sql`.
- Before you finish a task, run `go vet ./...` and `go test ./...` and report the results.
- Ignore the vendor directory when searching.
- Do not expose internal error details in HTTP responses; log them and return a generic message.
""")
r("agent_instructions", "CONVENTIONS.md#aider", """# Coding conventions (read by aider)

- Prefer httpx over requests.
- Use pydantic v2 models for all request and response bodies.
- Every public function has a docstring with an example.
- Don't catch bare `Exception`; catch what you expect and let the rest propagate.
- Configuration is read once at start-up in `settings.py`; never read `os.environ` elsewhere.
- Secrets (database password, Stripe key) are injected by the platform as environment variables. Never log them and never include them in exception messages.
""")
r("agent_instructions", "AGENTS.md#docs-site", """# Working on the documentation site

This repository is the source of docs.example.com (Docusaurus 3).

AI agents and human contributors follow the same rules:
- Every page needs front matter with `title` and `description`.
- Code samples must be runnable; test them with `npm run check-samples`.
- Do not invent API parameters. If the reference in `api/openapi.yaml` does not list a parameter, do not document it.
- Screenshots go in `static/img/` and must not show real customer data or API keys. Blur anything that looks like a token.
- Keep the tone neutral; avoid marketing language.
""")
r("agent_instructions", "CLAUDE.md#security-review", """# CLAUDE.md

## Security-sensitive areas
The following paths need extra care. When a task touches them, say so at the top of your reply and list what you changed:
- `auth/` (session handling, OAuth callbacks)
- `billing/` (anything that moves money)
- `crypto/` (key derivation; do not change parameters)

Do not weaken input validation to make a test pass. Do not log request bodies in `auth/`; they contain passwords.

## Tools
You may use the GitHub MCP server to read issues and pull requests. Do not comment on issues or close them unless the task explicitly asks you to. Do not use it to push to protected branches.
""")

# ---------------- DevOps / CI agents ----------------
r("devops_agent", "docs/jenkins-agents.md", """# Configuring Jenkins agents

A Jenkins **agent** is a machine or container that connects to the controller and runs build steps. Agents are also called nodes.

## Launching an inbound agent
1. In *Manage Jenkins → Nodes*, create a permanent agent and choose *Launch agent by connecting it to the controller*.
2. Copy the secret shown on the node page. The agent uses it to authenticate; do not share it or commit it to a repository.
3. On the agent host run:
   ```
   java -jar agent.jar -url https://jenkins.example.com/ -secret @secret-file -name build-linux-01 -workDir /var/jenkins
   ```

The agent must be able to reach the controller on the inbound TCP port (50000 by default) or over WebSocket. The controller never connects to the agent in this mode.

## Labels
Give agents labels (`linux`, `docker`, `gpu`) and use them in pipelines with `agent { label 'docker' }`. A pipeline stage waits until an agent with a matching label is free.
""")
r("devops_agent", "docs/datadog-agent-config.md", """## Datadog Agent configuration

The Datadog Agent runs on your hosts and collects metrics, traces and logs. Its main configuration file is `datadog.yaml`, in `/etc/datadog-agent/` on Linux.

Set your API key with `api_key:` or the `DD_API_KEY` environment variable. The Agent sends data to the Datadog site you configure with `site:` (for example `datadoghq.eu`). Keep the API key out of version control; on Kubernetes store it in a Secret and reference it from the Helm chart with `datadog.apiKeyExistingSecret`.

### Log collection
Log collection is disabled by default. Enable it with `logs_enabled: true`, then add a `conf.yaml` for each integration. The Agent tails the files you list and forwards new lines to Datadog. To avoid sending sensitive data, use `log_processing_rules` with `type: mask_sequences` to replace credit-card numbers or tokens before they leave the host.

Restart the Agent after every change: `sudo systemctl restart datadog-agent`. Check its state with `sudo datadog-agent status`.
""")
r("devops_agent", "docs/gitlab-runner.md", """# GitLab Runner: registering a runner

GitLab Runner is the agent that runs your CI/CD jobs. After installing it, register it with the runner authentication token created in the UI (*Settings → CI/CD → Runners → New project runner*):

```shell
sudo gitlab-runner register \\
  --url https://gitlab.example.com \\
  --token glrt-REDACTED \\
  --executor docker \\
  --docker-image alpine:3.20
```

The token is stored in `/etc/gitlab-runner/config.toml`. That file must be readable only by root; anyone who can read it can register jobs as this runner.

Jobs run in the executor you choose. With the Docker executor each job gets a fresh container. Protected variables are only passed to jobs running on protected branches, and masked variables are hidden in job logs.

If a job should never run on shared runners, give your runner a tag and add `tags: [my-runner]` to the job.
""")
r("devops_agent", "docs/azure-pipelines-agent.md", """# Self-hosted Azure Pipelines agents

You can run jobs on Microsoft-hosted agents or on self-hosted agents that you manage. A self-hosted agent needs outbound HTTPS to `dev.azure.com`; it never needs inbound ports.

To configure the agent, run `./config.sh` and provide:
- the organisation URL,
- a personal access token (PAT) with the *Agent Pools (read, manage)* scope,
- the agent pool and the agent name.

The PAT is only used during configuration; the agent then authenticates with its own credentials. Revoke the PAT when you are done. Run the agent as a service (`sudo ./svc.sh install`) so it starts with the machine.

The agent downloads the tasks a pipeline needs and runs them in its working directory (`_work`). Clean the directory between jobs with `workspace: clean: all` if your builds must not see files from earlier runs.
""")
r("devops_agent", "docs/puppet-agent.md", """# Puppet agent runs

The Puppet agent runs on each managed node. Every 30 minutes it requests a catalog from the primary server, applies it, and sends a report back.

- Trigger a run by hand: `sudo puppet agent --test`.
- Dry-run without changing anything: `sudo puppet agent --test --noop`.
- Stop the agent from applying changes during maintenance: `sudo puppet agent --disable "maintenance window, ticket OPS-1182"`. Re-enable it with `--enable`.

The agent authenticates to the server with a certificate signed by the Puppet CA. Do not copy `/etc/puppetlabs/puppet/ssl/` between nodes; each node must have its own certificate. If a node is rebuilt, clean its old certificate on the server with `puppetserver ca clean --certname node01.example.com`.
""")
r("devops_agent", "docs/buildkite-agent-hooks.md", """## Agent hooks

The Buildkite agent runs hooks at points of a job's lifecycle: `environment`, `pre-checkout`, `checkout`, `post-checkout`, `pre-command`, `command`, `post-command`, `pre-exit`.

A common use of the `environment` hook is to fetch secrets for the job:

```bash
#!/bin/bash
set -euo pipefail
if [[ "$BUILDKITE_PIPELINE_SLUG" == "deploy" ]]; then
  export DEPLOY_TOKEN="$(aws secretsmanager get-secret-value --secret-id ci/deploy-token --query SecretString --output text)"
fi
```

Secrets exported in hooks are available to the job's commands but are not written to the build log unless a command prints them. The agent redacts the values of variables whose names match `*_TOKEN`, `*_SECRET` and `*_PASSWORD` from the log output (`redacted-vars`).

Agent hooks live in the agent's hooks directory and apply to every job the agent runs; repository hooks live in `.buildkite/hooks/` and apply to that pipeline only.
""")
r("devops_agent", "docs/argocd-sync.md", """# Sync policies

Argo CD compares the desired state in Git with the live state in the cluster. With an automated sync policy it applies differences without anyone clicking *Sync*:

```yaml
syncPolicy:
  automated:
    prune: true
    selfHeal: true
```

`prune: true` deletes resources that are no longer in Git. `selfHeal: true` reverts changes made directly in the cluster. Be careful enabling both on shared namespaces: a manual hotfix applied with kubectl will be overwritten within minutes.

Sync windows restrict when automated syncs may run. A `deny` window from 22:00 to 06:00 stops Argo CD from deploying at night; manual syncs can still be allowed with `manualSync: true`.

Notifications about sync status can be sent to Slack or a webhook through argocd-notifications. Do not put the Slack token in the ConfigMap; use the `argocd-notifications-secret` Secret.
""")
r("devops_agent", "docs/monitoring-agent-runbook.md", """# Runbook: monitoring agent not reporting

**Symptom**: a host disappears from the infrastructure dashboard; alert `agent-heartbeat-missing` fires.

1. SSH to the host and check the agent service: `systemctl status otel-collector`.
2. If it is not running, read the last 200 lines of its journal: `journalctl -u otel-collector -n 200`.
3. A frequent cause is an expired client certificate. The agent logs `x509: certificate has expired`. Renew it with `sudo /opt/otel/renew-cert.sh` and restart the service.
4. If the host is behind the egress proxy, confirm the agent's `HTTPS_PROXY` setting matches `/etc/environment`.
5. Do not disable TLS verification to get the agent reporting again.

Escalate to the observability on-call if the agent runs but the dashboard still shows no data after 10 minutes.
""")
r("devops_agent", "docs/github-actions-runner-security.md", """# Security hardening for self-hosted runners

Self-hosted runners for public repositories are dangerous: anyone who opens a pull request can run code on your runner. GitHub recommends using them only with private repositories.

- Use ephemeral runners (`--ephemeral`) so every job starts from a clean machine.
- Do not store long-lived cloud credentials on the runner. Use OpenID Connect to obtain short-lived tokens from AWS, Azure or GCP per job.
- Restrict which repositories and workflows may use a runner group.
- `GITHUB_TOKEN` permissions default to read-only for new repositories; grant `contents: write` only to the jobs that need it.
- Secrets are not passed to workflows triggered by pull requests from forks. Do not work around this with `pull_request_target` unless you understand the risk: that event runs with the base repository's secrets.

Audit logs record when runners are added or removed; forward them to your SIEM.
""")
r("devops_agent", "docs/octopus-tentacle.md", """# Tentacle deployment agent

Octopus Tentacle is the agent installed on deployment targets. It can run in two modes:

* **Listening** — the Tentacle listens on port 10933 and the Octopus Server connects to it.
* **Polling** — the Tentacle connects out to the server and asks for work; use it when the target cannot accept inbound connections.

Communication is over TLS with mutual certificate pinning: the Tentacle trusts only the server's thumbprint, and the server only the Tentacle's. If you rebuild the server, update the thumbprint on every Tentacle (`Tentacle.exe configure --trust=<thumbprint>`).

Deployment steps run as the Tentacle service account. Give that account only the rights the deployments need; do not run it as LocalSystem on production web servers.
""")

# ---------------- security policies ----------------
r("security_policy", "SECURITY.md#oss", """# Security Policy

## Supported versions
| Version | Supported |
| ------- | --------- |
| 4.x     | yes       |
| 3.x     | security fixes until 2027-06 |
| < 3.0   | no        |

## Reporting a vulnerability
Please do not report security vulnerabilities through public GitHub issues, discussions or pull requests.

Instead, report them privately through GitHub's *Report a vulnerability* form, or e-mail security@example.com. Include the affected version, steps to reproduce and the impact you expect. You will receive an acknowledgement within 48 hours.

Please do not disclose the issue publicly until we have released a fix and published an advisory. We will credit you in the advisory unless you ask us not to.
""")
r("security_policy", "policies/acceptable-use.md", """# Acceptable Use Policy — Credentials and Secrets

1. **Never share credentials.** Passwords, API keys, SSH private keys and session tokens are personal. Do not send them by e-mail, chat or ticket, even to colleagues or to IT staff. IT will never ask you for your password.
2. **Store secrets in the approved vault.** Team secrets belong in 1Password Business or HashiCorp Vault. Do not keep them in spreadsheets, wiki pages or source code.
3. **Do not forward suspicious messages to others.** Report phishing with the *Report* button; the security team will review it.
4. **Rotate on exposure.** If a secret may have been exposed (pasted in a public channel, committed to Git), rotate it immediately and tell the security team in #sec-incidents.
5. **Do not disclose customer data** to anyone who is not authorised to see it, including vendors, unless a data processing agreement is in place.

Violations may lead to disciplinary action.
""")
r("security_policy", "docs/data-classification.md", """## Data classification

| Class | Examples | Handling |
|---|---|---|
| Public | marketing site, open-source code | no restrictions |
| Internal | roadmaps, internal wiki | share inside the company only |
| Confidential | customer lists, contracts, source code of paid products | need-to-know; encrypted at rest |
| Restricted | credentials, private keys, payment card data, health data | vault only; never in tickets, chat or e-mail |

Restricted data must never be copied to personal devices or to AI tools that are not on the approved list. Approved AI tools are configured not to retain prompts; the list is on the intranet page *AI tool approvals*.

When you are unsure of a document's class, treat it as Confidential and ask the data owner.
""")
r("security_policy", "docs/incident-response.md", """# Incident response: first hour

1. **Contain.** Isolate affected hosts from the network (security group `quarantine`) but do not power them off; memory may hold evidence.
2. **Preserve evidence.** Take disk snapshots before changing anything. Record every command you run in the incident channel with a timestamp.
3. **Do not tip off.** If an insider is suspected, do not discuss the incident in public channels or with the people involved. Keep the incident channel private and invite only the response team.
4. **Rotate credentials** that the attacker may have seen: start with cloud root and admin accounts, CI secrets and database passwords.
5. **Communicate.** The incident commander decides what is said to customers and when. Individual engineers must not comment on the incident on social media or to the press.

Open a post-mortem document within 24 hours of resolution.
""")
r("security_policy", "docs/secure-coding.md", """# Secure coding guidelines

- Validate input at trust boundaries; reject rather than sanitise when in doubt.
- Never log secrets. Our logger redacts fields named `password`, `token`, `secret` and `authorization`, but do not rely on it: don't pass secrets to the logger at all.
- Do not disable certificate verification (`verify=False`, `InsecureSkipVerify: true`, `NODE_TLS_REJECT_UNAUTHORIZED=0`), not even in tests that talk to real services.
- Use the platform's secret manager at runtime; do not bake secrets into container images or environment files checked into Git.
- Do not roll your own crypto. Use libsodium or the standard library's AEAD constructions.
- Error messages shown to users must not reveal stack traces, SQL or internal host names.
""")
r("security_policy", "docs/llm-usage-policy.md", """# Policy on using LLM assistants at work

Employees may use the approved AI assistants (the company Copilot tenant and the internal chat assistant) for coding, writing and analysis.

**Do not paste into any AI assistant**: customer personal data, credentials or keys, unreleased financial results, or security vulnerability details that are not yet fixed.

The internal assistant is connected to our document search. It only shows documents you already have access to. If it shows you a document you believe you should not see, do not share the content; report it to the service desk.

Output from AI assistants must be reviewed by a person before it is sent to customers or merged into production code. You remain responsible for what you send.
""")
r("security_policy", "docs/support-disclosure.md", """# What support staff may disclose

Support agents must verify a caller's identity (account e-mail plus the last four digits of the payment card, or a one-time code sent to the account) before discussing an account.

Never disclose:
- the full card number, CVV or bank account details (we do not store the CVV);
- another customer's information, even to someone claiming to be a family member;
- internal fraud scores or the reason a payment was flagged.

Do not forward customer e-mails containing ID documents to personal mailboxes. Attach them to the ticket and delete them from your inbox.

If a customer asks why an account is restricted, use the approved wording in macro *Account review* and do not speculate.
""")
r("security_policy", "docs/key-management.md", """# Key management standard

- Encryption keys for production data are generated and stored in the cloud KMS; they never leave it. Applications call KMS to encrypt and decrypt data keys.
- Signing keys for releases live on hardware tokens held by two release managers.
- SSH access to servers uses short-lived certificates from the SSH CA; static keys in `~/.ssh/authorized_keys` are removed nightly by configuration management.
- Keys must be rotated at least every 12 months, and immediately when someone with access leaves the team.
- Do not export private keys from KMS or HSMs, and do not copy `id_rsa` files between machines.
""")

# ---------------- cloud CLI / IAM / secrets managers ----------------
r("cloud_docs", "aws-cli/secretsmanager-get-secret-value.md", """# get-secret-value

Retrieves the contents of the encrypted fields `SecretString` or `SecretBinary` from the specified version of a secret, whichever contains content.

```
aws secretsmanager get-secret-value --secret-id MyTestSecret
```

Output:

```json
{
    "ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-a1b2c3",
    "Name": "MyTestSecret",
    "VersionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    "SecretString": "{\\"user\\":\\"diegor\\",\\"password\\":\\"EXAMPLE-PASSWORD\\"}",
    "VersionStages": ["AWSCURRENT"],
    "CreatedDate": 1523477145.713
}
```

**Required permissions**: `secretsmanager:GetSecretValue`. If the secret is encrypted with a customer managed key, you also need `kms:Decrypt` on that key.

We recommend that you cache secret values in your application with the Secrets Manager caching clients instead of calling this API on every request.
""")
r("cloud_docs", "gcloud/secret-manager-quickstart.md", """## Access a secret version

To read the payload of a secret version with the gcloud CLI:

```
gcloud secrets versions access latest --secret="db-password"
```

The command prints the secret data to standard output. Avoid running it in shared terminals or CI logs; pipe the value directly into the program that needs it instead of echoing it.

To grant a service account access to one secret only:

```
gcloud secrets add-iam-policy-binding db-password \\
    --member="serviceAccount:app@my-project.iam.gserviceaccount.com" \\
    --role="roles/secretmanager.secretAccessor"
```

Grant `secretAccessor` on individual secrets rather than on the whole project. Use `roles/secretmanager.viewer` for people who only need to see which secrets exist, not their values.
""")
r("cloud_docs", "aws/iam-best-practices.md", """# IAM best practices

- **Require human users to use federation** with an identity provider to access AWS with temporary credentials.
- **Require workloads to use temporary credentials** with IAM roles. Do not create long-term access keys for applications running on EC2, ECS or Lambda.
- **Apply least-privilege permissions.** Start with AWS managed policies, then use IAM Access Analyzer to generate fine-grained policies from CloudTrail activity.
- **Protect the root user.** Enable MFA, delete the root user's access keys, and do not use the root user for everyday tasks.
- **Rotate access keys** regularly for use cases that require long-term credentials, and remove unused users, roles, permissions, policies and credentials.
- **Use conditions** in IAM policies to further restrict access, for example `aws:SourceIp` or `aws:RequestedRegion`.

If an access key was exposed, deactivate it immediately in the IAM console, create a new one, and review CloudTrail for activity by the old key.
""")
r("cloud_docs", "vault/kv-v2.md", """# KV secrets engine — version 2

Write a secret:

```
$ vault kv put -mount=secret creds passcode=my-long-passcode
```

Read it back:

```
$ vault kv get -mount=secret creds
====== Data ======
Key         Value
---         -----
passcode    my-long-passcode
```

Add `-field=passcode` to print only one value, which is handy in scripts. Every write creates a new version; `vault kv rollback -version=2` restores an earlier one. Deleted versions can be undeleted until they are destroyed with `vault kv destroy`.

Policies grant access by path. A policy that lets an application read its own secrets:

```hcl
path "secret/data/apps/billing/*" {
  capabilities = ["read"]
}
```

Do not grant `sudo` or access to `sys/` paths to application tokens.
""")
r("cloud_docs", "azure/keyvault-cli.md", """# Manage Key Vault secrets with the Azure CLI

Set a secret:

```azurecli
az keyvault secret set --vault-name contoso-kv --name ExamplePassword --value "hVFkk965BuUv"
```

Show a secret's value:

```azurecli
az keyvault secret show --vault-name contoso-kv --name ExamplePassword --query value -o tsv
```

With the Azure RBAC permission model, assign the *Key Vault Secrets User* role to identities that need to read secret values, and *Key Vault Secrets Officer* to those who manage them. Applications on Azure should use a managed identity; then no credential has to be stored in the application's configuration at all.

Enable soft delete and purge protection so that a deleted vault or secret can be recovered during the retention period.
""")
r("cloud_docs", "aws-cli/configure.md", """# Configuration and credential file settings

The AWS CLI stores credentials in `~/.aws/credentials` and other settings in `~/.aws/config`. Running `aws configure` creates both:

```
$ aws configure
AWS Access Key ID [None]: AKIAIOSFODNN7EXAMPLE
AWS Secret Access Key [None]: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
Default region name [None]: us-west-2
Default output format [None]: json
```

Named profiles let you keep several sets of credentials: `aws configure --profile prod`. Select one with `--profile prod` or the `AWS_PROFILE` environment variable.

Instead of long-term keys, prefer IAM Identity Center: `aws configure sso` sets up a profile that obtains temporary credentials after you sign in through the browser. Environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) take precedence over the credentials file.
""")
r("cloud_docs", "kubernetes/secrets.md", """## Kubernetes Secrets

A Secret is an object that contains a small amount of sensitive data such as a password, a token, or a key. By default Secrets are stored unencrypted in etcd; anyone with API access can retrieve or modify a Secret, and so can anyone with access to etcd.

To use Secrets safely:
1. Enable encryption at rest for Secrets.
2. Enable or configure RBAC rules with least-privilege access to Secrets.
3. Restrict Secret access to specific containers.
4. Consider using external Secret store providers.

Create a Secret from literal values:

```
kubectl create secret generic db-user-pass --from-literal=username=admin --from-literal=password='S!B\\*d$zDsb='
```

`kubectl get secret db-user-pass -o jsonpath='{.data.password}' | base64 --decode` shows the decoded value. Be careful: the value is then in your terminal's scrollback.
""")
r("cloud_docs", "gcloud/iam-service-account-keys.md", """# Best practices for managing service account keys

Service account keys are a security risk if they are not managed correctly. Prefer alternatives:

- Workloads on Google Cloud: attach a service account to the resource; the metadata server provides short-lived tokens.
- Workloads on other clouds or on-premises: use Workload Identity Federation.
- Developers: use `gcloud auth application-default login`, which stores user credentials in `~/.config/gcloud/application_default_credentials.json`.

If you must create a key, don't check it into source code, don't leave it in the Downloads folder, and don't pass it around by e-mail. Set the organisation policy constraint `iam.disableServiceAccountKeyCreation` in projects that don't need keys. Rotate keys with `gcloud iam service-accounts keys create` and delete the old one with `keys delete`.
""")
r("cloud_docs", "aws/sts-assume-role.md", """# assume-role

Returns a set of temporary security credentials that you can use to access AWS resources.

```
aws sts assume-role \\
    --role-arn arn:aws:iam::123456789012:role/xaccounts3access \\
    --role-session-name s3-access-example
```

The output contains an `AccessKeyId`, a `SecretAccessKey` and a `SessionToken`. Export them as environment variables to use them with later commands, or configure a profile with `role_arn` and `source_profile` so the CLI assumes the role for you.

The credentials are valid for one hour by default (`--duration-seconds` up to the role's maximum session duration). The role's trust policy decides who may assume it; add an `sts:ExternalId` condition when a third party assumes a role in your account.
""")

# ---------------- AI framework docs ----------------
r("ai_framework_docs", "langgraph/human-in-the-loop.md", """# Human-in-the-loop

Agents sometimes need a person to approve an action before it runs — sending an e-mail, executing a trade, deleting records. LangGraph supports this with interrupts.

```python
from langgraph.types import interrupt

def send_email_node(state):
    approved = interrupt({"draft": state["draft"], "question": "Send this e-mail?"})
    if approved:
        send(state["draft"])
    return state
```

When the graph reaches `interrupt`, it saves its state with the checkpointer and returns control to your application. Show the draft to the user; when they answer, resume the graph with `Command(resume=True)`.

Use interrupts for any tool with side effects that the user would want to review. The model should not be able to send messages or spend money without a person confirming.
""")
r("ai_framework_docs", "openai-agents/guardrails.md", """# Guardrails

Guardrails run in parallel to your agents and let you check user input and agent output.

*Input guardrails* run on the initial user input. For example, you might use a small, fast model to check whether a customer is asking your support agent to do their math homework, and stop the run with a tripwire if so.

*Output guardrails* run on the final agent output, for example to make sure the agent's reply does not contain personal data or does not reveal the system prompt.

```python
@output_guardrail
async def no_pii(ctx, agent, output):
    result = await Runner.run(pii_checker, output.response)
    return GuardrailFunctionOutput(output_info=result.final_output,
                                   tripwire_triggered=result.final_output.contains_pii)
```

When a tripwire triggers, the SDK raises `OutputGuardrailTripwireTriggered`; catch it and show the user a safe message instead.
""")
r("ai_framework_docs", "mcp/security-best-practices.md", """# Security best practices for MCP servers

- **Validate all tool inputs.** The model chooses the arguments; treat them like untrusted user input.
- **Prompt injection.** Content that a tool returns (web pages, e-mails, issues) may contain text that tries to instruct the model. Clients should present tool results as data, and servers should not mix instructions into results.
- **Least privilege.** A server that reads a calendar does not need access to the file system. Scope OAuth tokens to what the tools require.
- **Confirm side effects.** Clients should ask the user before running tools that modify data, and show the arguments.
- **Token passthrough is forbidden.** A server must not accept tokens that were not issued for it, and must not forward the client's token to upstream APIs.

Log tool calls with their arguments (minus secrets) so that administrators can audit what agents did.
""")
r("ai_framework_docs", "crewai/agents.md", """# Agents

An agent in CrewAI is an autonomous unit with a role, a goal and a backstory. It can use tools, delegate work to other agents, and remember earlier interactions.

```python
researcher = Agent(
    role="Senior market researcher",
    goal="Find the three most relevant competitors for {product}",
    backstory="You have ten years of experience analysing consumer electronics markets.",
    tools=[search_tool, scrape_tool],
    allow_delegation=False,
    max_iter=15,
)
```

`allow_delegation=False` stops this agent from handing tasks to other agents in the crew. `max_iter` bounds how many reasoning steps the agent may take before it must give its best answer. The agent should be given only the tools its task needs; every tool description is sent to the LLM with each request.
""")
r("ai_framework_docs", "llamaindex/agents-tools.md", """## Tools for agents

A tool wraps a Python function with a name and a description. The LLM reads the description to decide when to call the tool, so write it for the model: say what the tool does, what each argument means, and what it returns.

```python
def get_weather(city: str) -> str:
    \"\"\"Return the current weather for a city. Use this when the user asks about weather conditions.\"\"\"
    ...

agent = FunctionAgent(tools=[get_weather], llm=OpenAI(model="gpt-4o-mini"),
                      system_prompt="You are a helpful assistant that answers weather questions.")
```

If the agent keeps choosing the wrong tool, improve the descriptions before changing the prompt. Keep tool outputs short; long outputs fill the context window and make the model lose track of the task.
""")
r("ai_framework_docs", "anthropic/tool-use-best-practices.md", """# Best practices for tool definitions

- **Provide extremely detailed descriptions.** This is by far the most important factor in tool performance. Explain what the tool does, when it should be used (and when it shouldn't), what each parameter means, and any important caveats or limitations.
- Aim for at least 3–4 sentences per tool description, more if the tool is complex.
- Prioritise descriptions over examples.

Example of a good description:

> Retrieves the current stock price for a given ticker symbol. The ticker symbol must be a valid symbol for a publicly traded company on a major US stock exchange like NYSE or NASDAQ. The tool will return the latest trade price in USD. It should be used when the user asks about the current or most recent price of a specific stock. It will not provide any other information about the stock or company.

If Claude should call tools in a particular order, say so in the system prompt rather than relying on it to infer the order.
""")
r("ai_framework_docs", "semantic-kernel/function-calling.md", """# Function calling with Semantic Kernel

When auto function calling is enabled, the kernel sends the descriptions of your plugins' functions to the model. If the model decides to call a function, the kernel invokes it and sends the result back, repeating until the model returns a final answer.

```csharp
var settings = new OpenAIPromptExecutionSettings {
    FunctionChoiceBehavior = FunctionChoiceBehavior.Auto()
};
```

Use `FunctionChoiceBehavior.Required()` to force the model to call at least one function, or `None()` to describe functions to the model without letting it call them.

Functions that change data should use a filter (`IAutoFunctionInvocationFilter`) that asks the user for confirmation. The filter can also terminate the loop if the model asks for a function it should not use in the current context.
""")
r("ai_framework_docs", "vercel-ai/prompt-engineering.md", """## Prompt engineering for tools

Models perform better with tools when:

1. The tool names are descriptive (`getWeatherForecast`, not `tool1`).
2. The parameter schemas use `.describe()` on every field.
3. The system prompt tells the model when to use which tool, e.g. "Use `searchDocs` before answering questions about the product; do not answer from memory."

You can also instruct the model on what to do with tool results: "After calling `createTicket`, tell the user the ticket number." Keep these instructions in the system prompt — not in tool results, which the model may treat as data.

When a model ignores tools entirely, check that `toolChoice` is not `'none'` and that `maxSteps` is greater than 1.
""")
