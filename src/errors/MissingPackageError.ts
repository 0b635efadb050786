import { LifelineError } from './LifelineError.js';

/**
 * A feature needs a package that mcp-lifeline lists as an optional peer dependency, which is not
 * installed: the library and the bridge never need it, so a plain install leaves it out. The
 * message names the package, the feature, and the command that brings it.
 */
export class MissingPackageError extends LifelineError<'MISSING_PACKAGE'> {
  override name = 'MissingPackageError';
  /** The package to install, e.g. `@redis/client`. */
  readonly packageName: string;

  constructor(packageName: string, feature: string, options?: { cause?: unknown }) {
    super(
      'MISSING_PACKAGE',
      `${feature} needs the package ${packageName}, which is not installed (mcp-lifeline leaves it out unless asked): ` +
        `npm install ${packageName}; with npx: npx -p mcp-lifeline -p ${packageName} mcp-lifeline …`,
      options,
    );
    this.packageName = packageName;
  }
}

/**
 * Loads an optional package with `load` (a literal `import('…')`, so that tools see it); a
 * MissingPackageError naming it when the package itself is not installed. Any other failure (the
 * package is there but broken, or misses a dependency of its own) is passed on as it is.
 */
export async function importOptional<T>(packageName: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${packageName}'`);
    if (missing) throw new MissingPackageError(packageName, feature, { cause: error });
    throw error;
  }
}
