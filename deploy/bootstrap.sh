#!/usr/bin/env bash
# Once per project, by an Owner: what must exist before Terraform can deploy dbt-cloud-harvester.
#
#   deploy/bootstrap.sh PROJECT_ID [NAME_PREFIX] [REGION]
#
# NAME_PREFIX (default dbt-harvester) and REGION (default europe-west1) must be the name_prefix and
# region of terraform/terraform.tfvars: the deployer account is named after the prefix, and
# Terraform grants that account what it needs on the accounts it creates.
#
# It enables the APIs Terraform and Cloud Build need to start, creates the Terraform state bucket
# (versioned), and the deployer service account that every apply runs as (on Cloud Build, or
# impersonated from your machine), with the roles below and nothing else. The person running it
# may then run builds and applies as the deployer. Rerunning it is harmless.
set -euo pipefail

PROJECT="${1:?usage: deploy/bootstrap.sh PROJECT_ID [NAME_PREFIX] [REGION]}"
PREFIX="${2:-dbt-harvester}"
REGION="${3:-europe-west1}"
DEPLOYER="${PREFIX}-deployer@${PROJECT}.iam.gserviceaccount.com"
STATE_BUCKET="${PROJECT}-tf-state"

# The deployer's roles, each needed to create and grant what terraform/ declares (README: Deployment).
# It acts as the deployment's own service accounts only: Terraform grants it roles/iam.serviceAccountUser
# on each account it creates, never on the project.
DEPLOYER_ROLES=(
  roles/serviceusage.serviceUsageAdmin  # enable the APIs
  roles/iam.serviceAccountAdmin         # create the service accounts, and grant on them (acting as them, Pub/Sub's token creation)
  roles/storage.admin                   # the buckets, their grants, the function source, the Terraform state
  roles/pubsub.admin                    # topics, subscriptions and their grants
  roles/secretmanager.admin             # the token secrets and their grants (never their values)
  roles/cloudfunctions.admin            # the functions
  roles/run.admin                       # run.invoker on the functions' services; receiveWebhook's invoker check when it is disabled
  roles/cloudscheduler.admin            # the hourly job
  roles/artifactregistry.admin          # the functions' image repository and its grant
  roles/bigquery.dataEditor             # the dataset and its external tables
  roles/monitoring.alertPolicyEditor    # the alert policies
  roles/logging.logWriter               # the deploy build's own logs
)
# The build account needs log writing and the function source's read on the project; the deployer
# may grant these two roles and no other there. The condition is passed with gcloud's alternate
# delimiter (^;^): its expression has commas, which gcloud would otherwise read as separating keys
# (gcloud topic escaping).
PROJECT_GRANTS_ONLY="api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/logging.logWriter', 'roles/storage.objectViewer'])"

# iamcredentials: Terraform impersonating the deployer from a laptop.
gcloud services enable cloudresourcemanager.googleapis.com iam.googleapis.com iamcredentials.googleapis.com \
  serviceusage.googleapis.com cloudbuild.googleapis.com storage.googleapis.com --project="$PROJECT"

if ! gcloud storage buckets describe "gs://${STATE_BUCKET}" --project="$PROJECT" >/dev/null 2>&1; then
  gcloud storage buckets create "gs://${STATE_BUCKET}" --project="$PROJECT" --location="$REGION" \
    --uniform-bucket-level-access --public-access-prevention
fi
gcloud storage buckets update "gs://${STATE_BUCKET}" --project="$PROJECT" --versioning

if ! gcloud iam service-accounts describe "$DEPLOYER" --project="$PROJECT" >/dev/null 2>&1; then
  gcloud iam service-accounts create "${PREFIX}-deployer" --project="$PROJECT" --display-name="dbt-cloud-harvester deployer"
fi
for role in "${DEPLOYER_ROLES[@]}"; do
  gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${DEPLOYER}" --role="$role" --condition=None >/dev/null
done
gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${DEPLOYER}" \
  --role=roles/resourcemanager.projectIamAdmin \
  --condition="^;^expression=${PROJECT_GRANTS_ONLY};title=build-account-grants-only" >/dev/null

# Whoever runs this may act as the deployer: submit builds that run as it, or impersonate it.
ME="$(gcloud config get-value account 2>/dev/null)"
case "$ME" in
  '' | '(unset)') echo "No gcloud account: run gcloud auth login first." >&2; exit 1 ;;
  *.gserviceaccount.com) MEMBER="serviceAccount:${ME}" ;;
  *) MEMBER="user:${ME}" ;;
esac
for role in roles/iam.serviceAccountUser roles/iam.serviceAccountTokenCreator; do
  gcloud iam service-accounts add-iam-policy-binding "$DEPLOYER" --project="$PROJECT" --member="$MEMBER" --role="$role" >/dev/null
done
gcloud projects add-iam-policy-binding "$PROJECT" --member="$MEMBER" --role=roles/cloudbuild.builds.editor --condition=None >/dev/null

# IAM changes take up to a few minutes to apply (https://cloud.google.com/iam/docs/access-change-propagation).
echo "Ready: state in gs://${STATE_BUCKET}; deploy as ${DEPLOYER} (README: Deployment)."
echo "New grants can take a few minutes to take effect: if the first build or apply is refused, wait and retry."
