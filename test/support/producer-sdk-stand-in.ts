import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourcePins } from '../../lib/config';

/**
 * The Producer SDK, producer-c and PIC as git repositories the tests make from
 * test/support/producer-sdk-stand-in/ (the same layout and CMake fetching as the real ones, a kvssink
 * element that drops what it receives), named and tagged as on GitHub, so that userdata/build-kvssink.sh
 * fetches, verifies and builds them as it does the real ones. Served in place of GitHub by git's own
 * url.<base>.insteadOf: a git config file for a machine's own processes (`gitConfig`), or the box's
 * /etc/gitconfig pointing at a git server (`support/git-server.ts`).
 */

const SOURCES = path.join(__dirname, 'producer-sdk-stand-in');
export const GITHUB_AWSLABS = 'https://github.com/awslabs/';

/** Each stand-in: its folder under SOURCES, the repository name on GitHub, the tag the defaults pin. */
const REPOSITORIES = {
  producerSdk: {
    folder: 'producer-sdk-cpp',
    name: 'amazon-kinesis-video-streams-producer-sdk-cpp',
    tag: 'v3.5.0',
  },
  producerC: { folder: 'producer-c', name: 'amazon-kinesis-video-streams-producer-c', tag: 'v1.6.0' },
  pic: { folder: 'pic', name: 'amazon-kinesis-video-streams-pic', tag: 'v1.2.0' },
} as const;
export type StandInRepository = keyof typeof REPOSITORIES;

const GIT_IDENTITY = ['-c', 'user.name=kvs-gateway tests', '-c', 'user.email=tests@example.com'];

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', [...GIT_IDENTITY, ...args], { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();
}

export class ProducerSdkStandIn {
  /** The bare repositories, one folder each, named as GitHub names them (`<name>.git`). */
  readonly dir: string;
  private readonly work: string;

  /** Makes the three repositories under `folder` (emptied first), each with its tag on its first commit. */
  constructor(folder: string) {
    fs.rmSync(folder, { recursive: true, force: true });
    this.dir = path.join(folder, 'repositories');
    this.work = path.join(folder, 'work');
    for (const [key, repository] of Object.entries(REPOSITORIES)) {
      const work = path.join(this.work, key);
      fs.cpSync(path.join(SOURCES, repository.folder), work, { recursive: true });
      git(work, 'init', '--quiet', '--initial-branch=main');
      git(work, 'add', '--all');
      git(work, 'commit', '--quiet', '--message', `${repository.name} stand-in`);
      git(work, 'tag', repository.tag);
      git(this.work, 'clone', '--quiet', '--bare', work, this.bare(key as StandInRepository));
    }
  }

  private bare(repository: StandInRepository): string {
    return path.join(this.dir, `${REPOSITORIES[repository].name}.git`);
  }

  /** The pins of the repositories as they are now: the config's "pins" for them. */
  pins(): SourcePins {
    const pin = (repository: StandInRepository) => {
      const { tag } = REPOSITORIES[repository];
      return { tag, commit: git(this.bare(repository), 'rev-parse', `${tag}^{commit}`) };
    };
    return { producerSdk: pin('producerSdk'), producerC: pin('producerC'), pic: pin('pic') };
  }

  /** Moves a repository's tag to a new commit (as a force-pushed tag would): pins made before no longer hold. */
  moveTag(repository: StandInRepository): string {
    const work = path.join(this.work, repository);
    const { tag } = REPOSITORIES[repository];
    fs.appendFileSync(path.join(work, 'CMakeLists.txt'), '# changed after the release\n');
    git(work, 'commit', '--quiet', '--all', '--message', 'changed after the release');
    git(work, 'tag', '--force', tag);
    git(work, 'push', '--quiet', '--force', this.bare(repository), `refs/tags/${tag}`);
    return git(work, 'rev-parse', 'HEAD');
  }

  /** Adds a tag on a repository's current commit (a release that names the same code). */
  addTag(repository: StandInRepository, tag: string): void {
    git(this.bare(repository), 'tag', tag, REPOSITORIES[repository].tag);
  }

  /**
   * A git config file (for GIT_CONFIG_GLOBAL, or a box's /etc/gitconfig) that fetches GitHub's awslabs
   * repositories from `base`: this folder, or a git server serving it.
   */
  gitConfig(file: string, base = `${this.dir}/`): string {
    fs.writeFileSync(file, `[url "${base}"]\n\tinsteadOf = ${GITHUB_AWSLABS}\n`);
    return file;
  }
}
