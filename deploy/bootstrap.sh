#!/usr/bin/env bash
# Once per project, by an Owner: what must exist before Terraform can deploy dbt-cloud-harvester.
#
#   deploy/bootstrap.sh PROJECT_ID [NAME_PREFIX] [REGION]
#
# It enables the APIs Terraform and Cloud Build need to start, creates the Terraform state bucket
# (versioned), and the deployer service account that every apply runs as (by hand, impersonated,
# or as Cloud Build's service account), with the roles below and nothing else. The person running
# it may then run builds and applies as the deployer. Rerunning it is harmless.
set -euo pipefail

PROJECT="${1:?usage: deploy/bootstrap.sh PROJECT_ID [NAME_PREFIX] [REGION]}"
PREFIX="${2:-dbt-harvester}"
REGION="${3:-europe-west1}"
DEPLOYER="${PREFIX}-deployer@${PROJECT}.iam.gserviceaccount.com"
STATE_BUCKET="${PROJECT}-tf-state"

# The deployer's roles, each needed to create and grant what terraform/ declares (README: Deployment).
DEPLOYER_ROLES=(
  roles/serviceusage.serviceUsageAdmin  # enable the APIs
  roles/iam.serviceAccountAdmin         # create the service accounts, and let Pub/Sub mint tokens as the push account
  roles/iam.serviceAccountUser          # deploy functions, the scheduler job and the push subscription that run as them
  roles/storage.admin                   # the buckets, their grants, the function source, the Terraform state
  roles/pubsub.admin                    # topics, subscriptions and their grants
  roles/secretmanager.admin             # the token secret and its grants (never its value)
  roles/cloudfunctions.admin            # the functions
  roles/run.admin                       # run.invoker on the functions' services; the receiveWebhook service, its invoker check off
  roles/cloudbuild.builds.editor        # start receiveWebhook's build from source (a Cloud Run service with a build config)
  roles/cloudscheduler.admin            # the hourly job
  roles/artifactregistry.admin          # the functions' image repository and its grant
  roles/bigquery.dataEditor             # the dataset and its external tables
  roles/monitoring.alertPolicyEditor    # the alert policies
  roles/logging.logWriter               # the deploy build's own logs
)
# The build account needs log writing on the project; the deployer may grant that role and no other.
LOG_WRITER_ONLY="api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/logging.logWriter'])"

gcloud services enable cloudresourcemanager.googleapis.com iam.googleapis.com serviceusage.googleapis.com \
  cloudbuild.googleapis.com storage.googleapis.com --project="$PROJECT"

if ! gcloud storage buckets describe "gs://${STATE_BUCKET}" --project="$PROJECT" >/dev/null 2>&1; then
  gcloud storage buckets create "gs://${STATE_BUCKET}" --project="$PROJECT" --location="$REGION" \
    --uniform-bucket-level-access --public-access-prevention
fi
gcloud storage buckets update "gs://${STATE_BUCKET}" --versioning

if ! gcloud iam service-accounts describe "$DEPLOYER" --project="$PROJECT" >/dev/null 2>&1; then
  gcloud iam service-accounts create "${PREFIX}-deployer" --project="$PROJECT" --display-name="dbt-cloud-harvester deployer"
fi
for role in "${DEPLOYER_ROLES[@]}"; do
  gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${DEPLOYER}" --role="$role" --condition=None >/dev/null
done
gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${DEPLOYER}" \
  --role=roles/resourcemanager.projectIamAdmin \
  --condition="expression=${LOG_WRITER_ONLY},title=grant-log-writer-only" >/dev/null

# Whoever runs this may act as the deployer: submit builds that run as it, or impersonate it.
ME="$(gcloud config get-value account 2>/dev/null)"
case "$ME" in
  *.gserviceaccount.com) MEMBER="serviceAccount:${ME}" ;;
  *) MEMBER="user:${ME}" ;;
esac
for role in roles/iam.serviceAccountUser roles/iam.serviceAccountTokenCreator; do
  gcloud iam service-accounts add-iam-policy-binding "$DEPLOYER" --project="$PROJECT" --member="$MEMBER" --role="$role" >/dev/null
done
gcloud projects add-iam-policy-binding "$PROJECT" --member="$MEMBER" --role=roles/cloudbuild.builds.editor --condition=None >/dev/null

echo "Ready: state in gs://${STATE_BUCKET}; deploy as ${DEPLOYER} (README: Deployment)."
